import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Sluice
import Synchronization

/// gRPC over HTTP/2 for clients: a pool of connections to one target.
///
/// Calls share a connection until it reaches the server's MAX_CONCURRENT_STREAMS, then
/// another connection opens. A connection that received GOAWAY takes no new calls and closes
/// when its last call ends. After a failed connection attempt, further attempts wait by
/// exponential backoff, and calls meanwhile fail fast with UNAVAILABLE.
public final class HTTP2ClientTransport: ClientTransport {
    /// Client settings.
    public struct Configuration: Sendable {
        /// Largest response message accepted, after decompression.
        public var maxReceiveMessageSize = MessageSizeLimits.defaultMaxReceive
        /// TLS, with ALPN `h2`; nil uses plaintext (h2c with prior knowledge).
        public var tls: TLSConfiguration?
        /// Host name for TLS verification and `:authority`; defaults to the target's host.
        public var serverHostname: String?
        public var keepalive = ClientKeepalive()
        public var backoff = ConnectionBackoff()
        public var connectTimeout: Duration = .seconds(20)
        /// Connections opened at most; past that, calls queue on the least loaded one.
        public var maxConnections = 8
        /// Largest response header list (headers or trailers, as HPACK counts them) accepted,
        /// advertised as SETTINGS_MAX_HEADER_LIST_SIZE; a response over it fails its call with
        /// RESOURCE_EXHAUSTED. 16 KiB, as C-core's hard limit.
        public var maxResponseHeaderListSize = HPACKDecoderDefaults.maxHeaderListSize
        /// Where the transport logs its connections' events, with the keys of `LogKeys`: at
        /// `debug` connects, connect failures (with the backoff), GOAWAYs received, keepalive
        /// timeouts, connection errors and closes; at `trace` each keepalive ping. nil, the
        /// default, logs nothing.
        public var logger: Logger?

        public init() {}
    }

    private struct PoolState {
        var connections: [ClientConnection] = []
        var connecting: OneShot<Result<ClientConnection, any Error>>?
        var failures = 0
        var retryAfter: ContinuousClock.Instant?
        var lastError: (any Error)?
        var closed = false
        var connectivity = ConnectivityState.idle
    }

    public let target: SocketTarget
    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let pool = Mutex(PoolState())
    private let sslContext: NIOSSLContext?
    private let stateObserver = Mutex<(@Sendable (ConnectivityState) -> Void)?>(nil)
    /// The configuration's logger, with the target in its metadata.
    private let logger: Logger?

    public init(target: SocketTarget, configuration: Configuration = Configuration(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.target = target
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = configuration.logger.map { logger in
            var logger = logger
            logger[metadataKey: LogKeys.target] = "\(target)"
            return logger
        }
        switch target {
        case .host(let host, let port):
            let name = configuration.serverHostname ?? host
            authority = name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)"
        case .unixDomainSocket:
            authority = configuration.serverHostname ?? "localhost"
        }
        scheme = configuration.tls == nil ? "http" : "https"
        if var tls = configuration.tls {
            tls.applicationProtocols = ["h2"]
            self.sslContext = try NIOSSLContext(configuration: tls)
        } else {
            self.sslContext = nil
        }
    }

    /// `:authority` and `:scheme` for every call.
    private let authority: String
    private let scheme: String

    public func openStream(_ head: RequestHead) async throws -> ClientStream {
        let connection = try await acquire()
        let channel = connection.channel
        let eventLoop = channel.eventLoop
        let handle = ClientStreamHandle(eventLoop: eventLoop, compression: head.compression, allocator: channel.allocator)
        let (stream, sink) = makeClientStream(
            requests: RPCWriter(write: { try await handle.send($0) }, yield: { handle.offer($0) },
                                finish: { _ in handle.finishRequests() }),
            highWatermark: FlowControlDefaults.receivePipeMessagesPerStream,
            byteLimit: FlowControlDefaults.receivePipeBytesPerStream,
            onDemand: { handle.resumeReading() },
            onAbort: { _ in handle.abort() })
        // Opening the stream is not awaited: the call's first writes wait in the outbox and go
        // out with the HEADERS.
        handle.open(.init(head: head, sink: sink, connection: connection, scheme: scheme, authority: authority,
                          maxReceiveMessageSize: configuration.maxReceiveMessageSize, transport: self))
        return stream
    }

    /// A transparent retry: the call's stream was never processed on its connection, which is
    /// going away, so it opens on another (a new one if none is usable).
    func reopen(_ handle: ClientStreamHandle, _ opening: ClientStreamHandle.Opening) {
        Task {
            do {
                var opening = opening
                opening.connection = try await acquire()
                handle.open(opening)
            } catch {
                handle.requests.close()
                let failure = error as? RPCError ?? RPCError(code: .unavailable, message: "\(error)")
                opening.sink.receive(.end(failure, trailers: [:]))
            }
        }
    }

    /// Closes every connection at once: calls in flight on them fail with UNAVAILABLE, as
    /// grpc-go's `ClientConn.Close` ends its RPCs. (A channel dropping an endpoint its resolver
    /// no longer lists drains the subchannel instead.)
    public func close() async {
        let connections = pool.withLock { state -> [ClientConnection] in
            state.closed = true
            return state.connections
        }
        report(.shutdown)
        for connection in connections {
            try? await connection.channel.close()
        }
    }

    /// Takes no new calls and lets those in flight run to their end: idle connections close
    /// now, the others when their last call ends. A channel drops a subchannel its resolver
    /// no longer lists this way, so that the calls on it do not fail. Returns once the idle
    /// connections have closed.
    func drain() async {
        let connections = pool.withLock { state -> [ClientConnection] in
            state.closed = true
            return state.connections
        }
        report(.shutdown)
        for connection in connections where connection.closeWhenIdle() {
            try? await connection.channel.closeFuture.get()
        }
    }

    // MARK: - Connectivity, for use as a channel's subchannel

    /// The pool's state: READY with a usable connection, CONNECTING while one is made,
    /// TRANSIENT_FAILURE after a failed attempt (until the next), IDLE otherwise.
    public var connectivityState: ConnectivityState { pool.withLock { $0.connectivity } }

    /// Calls `observer` on every state change from now on.
    public func observeState(_ observer: @escaping @Sendable (ConnectivityState) -> Void) {
        stateObserver.withLock { $0 = observer }
    }

    /// Starts connecting if no connection is up or being made, without a call waiting.
    public func connect() {
        let idle = pool.withLock { state in
            !state.closed && state.connecting == nil && !state.connections.contains { $0.isUsable }
        }
        guard idle else { return }
        Task {
            if let connection = try? await acquire() { connection.releaseStream() }
        }
    }

    /// Records the state and tells the observer if it changed.
    private func report(_ new: ConnectivityState) {
        let changed = pool.withLock { state -> Bool in
            guard state.connectivity != new, state.connectivity != .shutdown else { return false }
            state.connectivity = new
            return true
        }
        guard changed, let observer = stateObserver.withLock({ $0 }) else { return }
        observer(new)
    }

    /// A connection closed: without another usable one the pool is IDLE again.
    private func connectionClosed() {
        let idle = pool.withLock { state -> Bool in
            state.connections.removeAll { !$0.isUsable }
            return state.connections.isEmpty && state.connecting == nil
        }
        if idle { report(.idle) }
    }

    // MARK: - The pool

    /// When the backoff after the last failed connect ends; nil when not backing off.
    var retryAfter: ContinuousClock.Instant? { pool.withLock { $0.retryAfter } }

    private func acquire() async throws -> ClientConnection {
        while true {
            enum Next {
                case use(ClientConnection)
                case wait(OneShot<Result<ClientConnection, any Error>>)
                case connect(OneShot<Result<ClientConnection, any Error>>)
                case fail(RPCError)
            }
            let next = pool.withLock { state -> Next in
                if state.closed { return .fail(RPCError(code: .unavailable, message: "the client transport is closed")) }
                state.connections.removeAll { !$0.isUsable }
                if let ready = state.connections.first(where: { $0.reserveStream() }) { return .use(ready) }
                if let connecting = state.connecting { return .wait(connecting) }
                if state.connections.count >= configuration.maxConnections,
                   let least = state.connections.min(by: { $0.load < $1.load }), least.forceReserveStream() {
                    return .use(least)
                }
                if let retryAfter = state.retryAfter, retryAfter > .now {
                    return .fail(RPCError(code: .unavailable,
                                          message: "connecting to \(target) failed: \(state.lastError.map { "\($0)" } ?? "unknown error")"))
                }
                let connecting = OneShot<Result<ClientConnection, any Error>>()
                state.connecting = connecting
                return .connect(connecting)
            }
            if case .connect = next { report(.connecting) }
            switch next {
            case .use(let connection):
                return connection
            case .fail(let error):
                throw error
            case .wait(let connecting):
                if case .failure(let error) = await connecting.value {
                    throw RPCError(code: .unavailable, message: "connecting to \(target) failed: \(error)")
                }
            case .connect(let connecting):
                logger?.debug("connecting")
                do {
                    let connection = try await connect()
                    pool.withLock { state in
                        state.connections.append(connection)
                        state.connecting = nil
                        state.failures = 0
                        state.retryAfter = nil
                    }
                    let logger = self.logger
                    logger?.debug("connected", metadata: [LogKeys.peer: "\(connection.channel.remoteAddress.map { "\($0)" } ?? "")"])
                    connection.channel.closeFuture.whenComplete { [weak self] _ in
                        logger?.debug("connection closed")
                        self?.connectionClosed()
                    }
                    report(.ready)
                    connecting.set(.success(connection))
                } catch {
                    let backoff = pool.withLock { state in
                        state.connecting = nil
                        state.failures += 1
                        state.lastError = error
                        let backoff = configuration.backoff.delay(afterFailures: state.failures)
                        state.retryAfter = .now + backoff
                        return backoff
                    }
                    logger?.debug("connect failed", metadata: [LogKeys.error: "\(error)", LogKeys.delayMilliseconds: "\(backoff.loggedMilliseconds)"])
                    report(.transientFailure)
                    connecting.set(.failure(error))
                    throw RPCError(code: .unavailable, message: "connecting to \(target) failed: \(error)")
                }
            }
        }
    }

    private func connect() async throws -> ClientConnection {
        let sslContext = self.sslContext
        let hostname: String?
        switch target {
        case .host(let host, _): hostname = configuration.serverHostname ?? host
        case .unixDomainSocket: hostname = configuration.serverHostname
        }
        let keepalive = configuration.keepalive
        let logger = self.logger
        let maxHeaderListSize = configuration.maxResponseHeaderListSize
        let connectionBox = OneShot<ClientConnection>()
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.seconds * 1e9)))
        if case .host = target { bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1) }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let sslContext {
                    // SNI only for names, not IP addresses.
                    let sni = hostname.flatMap { $0.contains(":") || $0.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : $0 }
                    try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: sni))
                }
                var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
                connectionConfiguration.initialSettings = [
                    HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
                    HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize),
                    HTTP2Setting(parameter: .initialWindowSize, value: FlowControlDefaults.streamWindow),
                    HTTP2Setting(parameter: .enablePush, value: 0),
                ]
                // grpc-go servers ping once per round trip while data flows (bandwidth
                // estimation): a client making one call at a time sees a ping per call, so any
                // fixed count per 30 s (swift-nio-http2's default is 200; 20,000 stopped a
                // client after 20,000 calls) ends in GOAWAY ENHANCE_YOUR_CALM. A client chose
                // its server, and swift-nio-http2's cap on unsent control frames (10,000) still
                // bounds what a peer that never reads our ACKs can cost.
                connectionConfiguration.controlFrameRateLimit.maximumCount = .max
                // Servers do not open streams on gRPC connections: no accept.
                let streams = StreamTable<ClientStreamHandler>(
                    streamWindow: FlowControlDefaults.streamWindow, connectionWindow: FlowControlDefaults.connectionWindow,
                    accept: nil)
                try sync.addHandler(NIOHTTP2Handler(mode: .client, frameDelegate: streams,
                                                    connectionConfiguration: connectionConfiguration))
                try sync.addHandler(streams)
                try sync.addHandler(ClientConnectionHandler(connection: connectionBox, keepalive: keepalive, logger: logger))
                connectionBox.set(ClientConnection(channel: channel, streams: NIOLoopBound(streams, eventLoop: channel.eventLoop),
                                                   maxResponseHeaderListSize: maxHeaderListSize))
            }
        }
        let channel: any Channel
        switch target {
        case .host(let host, let port):
            channel = try await bootstrap.connect(host: host, port: port).get()
        case .unixDomainSocket(let path):
            channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        guard let connection = connectionBox.peek() else {
            channel.close(promise: nil)
            throw RPCError(code: .internal, message: "connection set-up did not complete")
        }
        // READY only once the server spoke HTTP/2: its SETTINGS within the connect timeout.
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(configuration.connectTimeout.seconds * 1e9))) {
            connection.serverPreface.set(false)
        }
        channel.closeFuture.whenComplete { _ in connection.serverPreface.set(false) }
        let spoke = await connection.serverPreface.value
        timeout.cancel()
        guard spoke else {
            channel.close(promise: nil)
            throw RPCError(code: .unavailable, message: "the server closed the connection (or stayed silent) before its HTTP/2 SETTINGS")
        }
        // The pool reserves the first stream for the caller that connected.
        guard connection.forceReserveStream() else {
            throw RPCError(code: .unavailable, message: "the connection closed at once")
        }
        return connection
    }
}
