import NIOCore
import NIOHTTP2
import Synchronization

/// Connection-level work of a server connection: counts open streams and enforces the
/// keepalive policy on client pings.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var enforcer: KeepaliveEnforcer
    private let activity: ConnectionActivity
    private var openStreams = 0

    init(keepalive: ServerKeepalive, activity: ConnectionActivity) {
        self.enforcer = KeepaliveEnforcer(policy: keepalive)
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .ping(_, ack: false) = frame.payload {
            if activity.takeDataSent() { enforcer.didSendData() }
            if enforcer.receivedPing(at: .now, activeCalls: openStreams) == .goAway {
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is NIOHTTP2StreamCreatedEvent {
            openStreams += 1
        } else if event is StreamClosedEvent {
            openStreams -= 1
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Shared by a connection's stream handlers and its connection handler: whether the server
/// has sent HEADERS or DATA since the last ping was checked.
final class ConnectionActivity: Sendable {
    private let dataSent = Atomic<Bool>(false)

    func noteDataSent() {
        dataSent.store(true, ordering: .relaxed)
    }

    func takeDataSent() -> Bool {
        dataSent.exchange(false, ordering: .relaxed)
    }
}
