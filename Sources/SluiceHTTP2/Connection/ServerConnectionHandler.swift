import NIOCore
import NIOHTTP2
import Synchronization

/// Connection-level work of a server connection: enforces the keepalive policy on client pings.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var enforcer: KeepaliveEnforcer
    private let activity: ConnectionActivity

    init(keepalive: ServerKeepalive, activity: ConnectionActivity) {
        self.enforcer = KeepaliveEnforcer(policy: keepalive)
        self.activity = activity
    }

    /// A connection error (swift-nio-http2 has already sent GOAWAY) or an I/O error: the
    /// connection is done, and closing it cancels its calls' handlers.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .ping(_, ack: false) = frame.payload {
            if activity.takeDataSent() { enforcer.didSendData() }
            if enforcer.receivedPing(at: .now, activeCalls: activity.openStreams) == .goAway {
                let goAway = HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: .maxID, errorCode: .enhanceYourCalm,
                                     opaqueData: context.channel.allocator.buffer(string: "too_many_pings")))
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(goAway)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
        context.fireChannelRead(data)
    }
}

/// Shared by a connection's stream handlers and its connection handler: how many calls are
/// open, and whether the server has sent HEADERS or DATA since the last ping was checked.
/// (Stream events do not reach connection handlers with the inline multiplexer, so the stream
/// handlers report themselves.)
final class ConnectionActivity: Sendable {
    private let dataSent = Atomic<Bool>(false)
    private let streams = Atomic<Int>(0)

    var openStreams: Int { streams.load(ordering: .relaxed) }

    func streamOpened() {
        streams.wrappingAdd(1, ordering: .relaxed)
    }

    func streamClosed() {
        streams.wrappingSubtract(1, ordering: .relaxed)
    }

    func noteDataSent() {
        dataSent.store(true, ordering: .relaxed)
    }

    func takeDataSent() -> Bool {
        dataSent.exchange(false, ordering: .relaxed)
    }
}
