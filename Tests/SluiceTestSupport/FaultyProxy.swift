import NIOCore
import NIOPosix
import Sluice
import Synchronization

/// A TCP proxy on loopback that breaks the network on command, between a client and a real
/// server: it resets connections, stalls them, or refuses new ones.
///
/// Each accepted connection is relayed byte for byte to `upstream`. ``reset()`` aborts every
/// open connection (RST on both sides, as a crashed router would); ``stall()`` stops relaying
/// on the open connections (their bytes wait, as in a partition) while new connections pass;
/// ``refuseConnections(_:)`` closes new connections as soon as they are accepted.
public final class FaultyProxy: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: Relay] = [:]
        var refusing = false
        var accepted = 0
    }

    private let state = Mutex(State())
    private let listener: any Channel
    /// The port clients connect to.
    public let port: Int

    /// Starts a proxy to `127.0.0.1:upstreamPort`.
    public init(upstreamPort: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let box = OneShot<FaultyProxy>()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let proxy = box.peek() else { return inbound.close() }
                return proxy.accept(inbound, upstreamPort: upstreamPort, group: group)
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.listener = listener
        self.port = listener.localAddress?.port ?? 0
        box.set(self)
    }

    /// Connections relayed now.
    public var openConnections: Int { state.withLock { $0.connections.count } }

    /// Connections accepted and relayed so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Aborts every open connection with a TCP reset on both sides.
    public func reset() {
        let relays = state.withLock { state in
            defer { state.connections.removeAll() }
            return Array(state.connections.values)
        }
        for relay in relays { relay.reset() }
    }

    /// Stops relaying on the connections open now; what they send waits until ``resume()``.
    public func stall() {
        for relay in state.withLock({ Array($0.connections.values) }) { relay.setStalled(true) }
    }

    /// Relays again what stalled connections held, and all that follows.
    public func resume() {
        for relay in state.withLock({ Array($0.connections.values) }) { relay.setStalled(false) }
    }

    /// While `refusing`, new connections are closed as soon as they are accepted.
    public func refuseConnections(_ refusing: Bool) {
        state.withLock { $0.refusing = refusing }
    }

    /// Stops listening and closes every connection.
    public func close() async {
        reset()
        try? await listener.close()
    }

    private func accept(_ inbound: any Channel, upstreamPort: Int, group: any EventLoopGroup) -> EventLoopFuture<Void> {
        guard !state.withLock({ $0.refusing }) else { return inbound.close() }
        let relay = Relay(inbound: inbound)
        let key = ObjectIdentifier(relay)
        state.withLock { state in
            state.connections[key] = relay
            state.accepted += 1
        }
        inbound.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { _ = $0.connections.removeValue(forKey: key) }
        }
        return ClientBootstrap(group: inbound.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMap { outbound in relay.connect(outbound) }
            .flatMapError { _ in inbound.close() }
    }
}

/// One relayed connection: two channels, each one's reads written to the other.
private final class Relay: Sendable {
    let inbound: any Channel
    private let outbound = Mutex<(any Channel)?>(nil)
    private let halves = Mutex<[RelayHalf]>([])

    init(inbound: any Channel) {
        self.inbound = inbound
    }

    func connect(_ outbound: any Channel) -> EventLoopFuture<Void> {
        self.outbound.withLock { $0 = outbound }
        let toServer = RelayHalf(peer: outbound)
        let toClient = RelayHalf(peer: inbound)
        halves.withLock { $0 = [toServer, toClient] }
        // Either side closing closes the other.
        inbound.closeFuture.whenComplete { _ in outbound.close(promise: nil) }
        outbound.closeFuture.whenComplete { [inbound] _ in inbound.close(promise: nil) }
        return inbound.pipeline.addHandler(toServer).flatMap {
            outbound.pipeline.addHandler(toClient)
        }
    }

    func reset() {
        let outbound = self.outbound.withLock { $0 }
        for channel in [inbound] + (outbound.map { [$0] } ?? []) {
            // SO_LINGER 0: close sends RST instead of FIN.
            guard let socket = channel as? any SocketOptionProvider else {
                channel.close(promise: nil)
                continue
            }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func setStalled(_ stalled: Bool) {
        for half in halves.withLock({ $0 }) { half.setStalled(stalled) }
    }
}

/// Writes what its channel reads to the peer channel, unless stalled; reads on only as the
/// peer accepts, so that neither side buffers without bound.
private final class RelayHalf: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct State {
        var stalled = false
        var held: [ByteBuffer] = []
        var context: NIOLoopBound<ChannelHandlerContext>?
    }

    let peer: any Channel
    private let state = Mutex(State())

    init(peer: any Channel) {
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state.withLock { $0.context = NIOLoopBound(context, eventLoop: context.eventLoop) }
        // The accepted side gets its handler before it is active: it starts reading then.
        if context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let stalled = state.withLock { state -> Bool in
            if state.stalled { state.held.append(bytes) }
            return state.stalled
        }
        guard !stalled else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        peer.writeAndFlush(bytes).hop(to: context.eventLoop).whenSuccess { bound.value.read() }
    }

    func setStalled(_ stalled: Bool) {
        let (held, context) = state.withLock { state -> ([ByteBuffer], NIOLoopBound<ChannelHandlerContext>?) in
            state.stalled = stalled
            guard !stalled else { return ([], nil) }
            defer { state.held.removeAll() }
            return (state.held, state.context)
        }
        guard let context else { return }
        context.eventLoop.execute {
            for bytes in held { self.peer.write(bytes, promise: nil) }
            self.peer.flush()
            context.value.read()
        }
    }
}
