import NIOCore
import NIOHTTP2

/// Connection-level work of a server connection: enforces the keepalive policy on client pings.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var enforcer: KeepaliveEnforcer
    /// The connection's streams: how many calls are open, and whether data went out.
    private let streams: StreamTable<ServerStreamHandler>

    init(keepalive: ServerKeepalive, streams: StreamTable<ServerStreamHandler>) {
        self.enforcer = KeepaliveEnforcer(policy: keepalive)
        self.streams = streams
    }

    /// A connection error (swift-nio-http2 has already sent GOAWAY) or an I/O error: the
    /// connection is done, and closing it cancels its calls' handlers.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .ping(_, ack: false) = frame.payload {
            if streams.takeDataSent() { enforcer.didSendData() }
            if enforcer.receivedPing(at: .now, activeCalls: streams.openStreams) == .goAway {
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
