import Logging
import NIOCore
import NIOHTTP2
import Sluice
import Synchronization

/// Keepalive pings a client sends (gRFC A8).
public struct ClientKeepalive: Sendable, Hashable {
    /// Interval between pings; nil sends none.
    public var time: Duration?
    /// How long to wait for the ping's ACK before closing the connection.
    public var timeout: Duration = .seconds(20)
    /// Whether to ping while no calls are open.
    public var permitWithoutCalls = false

    public init(time: Duration? = nil) {
        self.time = time
    }
}

/// One HTTP/2 connection of a client, with what the pool needs to choose among connections.
final class ClientConnection: Sendable {
    struct State {
        var openStreams = 0
        /// The server's SETTINGS_MAX_CONCURRENT_STREAMS; 100 until it says otherwise.
        var maxConcurrentStreams = 100
        var goingAway = false
        var closed = false
    }

    let channel: any Channel
    /// The connection's streams; touched only on its event loop.
    let streams: NIOLoopBound<StreamTable<ClientStreamHandler>>
    let state = Mutex(State())
    /// The SETTINGS_MAX_HEADER_LIST_SIZE this side advertised.
    let maxResponseHeaderListSize: Int
    /// True once the server's first SETTINGS arrived (its HTTP/2 preface), false if the
    /// connection closed first: until then the connection is not READY, as in grpc-go and
    /// C-core, so a peer that accepts and hangs up (or is not HTTP/2) is a failed connect.
    let serverPreface = OneShot<Bool>()

    init(channel: any Channel, streams: NIOLoopBound<StreamTable<ClientStreamHandler>>, maxResponseHeaderListSize: Int) {
        self.channel = channel
        self.streams = streams
        self.maxResponseHeaderListSize = maxResponseHeaderListSize
    }

    /// Reserves a stream slot if this connection can take one more call.
    func reserveStream() -> Bool {
        state.withLock { state in
            guard !state.goingAway, !state.closed, state.openStreams < state.maxConcurrentStreams else { return false }
            state.openStreams += 1
            return true
        }
    }

    /// Reserves a slot even past the server's limit (NIO then queues the stream).
    func forceReserveStream() -> Bool {
        state.withLock { state in
            guard !state.goingAway, !state.closed else { return false }
            state.openStreams += 1
            return true
        }
    }

    func releaseStream() {
        let idleAndGoingAway = state.withLock { state -> Bool in
            state.openStreams -= 1
            return state.goingAway && state.openStreams == 0
        }
        if idleAndGoingAway { channel.close(promise: nil) }
    }

    /// Takes no new calls and closes once those in flight end: at once if there are none.
    /// Returns whether it closed at once.
    func closeWhenIdle() -> Bool {
        let idle = state.withLock { state -> Bool in
            state.goingAway = true
            return state.openStreams == 0
        }
        if idle { channel.close(promise: nil) }
        return idle
    }

    var isUsable: Bool {
        state.withLock { !$0.goingAway && !$0.closed }
    }

    var load: Int {
        state.withLock { $0.openStreams }
    }
}

/// Watches a client connection's SETTINGS, GOAWAY and closure, and sends keepalive pings.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let connection: OneShot<ClientConnection>
    private let keepalive: ClientKeepalive
    private let logger: Logger?
    private var pingTask: Scheduled<Void>?
    private var pingTimeout: Scheduled<Void>?
    private static let pingData = HTTP2PingData(withInteger: 0x534C_5549_4345)  // "SLUICE"

    init(connection: OneShot<ClientConnection>, keepalive: ClientKeepalive, logger: Logger?) {
        self.connection = connection
        self.keepalive = keepalive
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        schedulePing(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedulePing(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                connection.peek()?.state.withLock { $0.maxConcurrentStreams = setting.value }
            }
            connection.peek()?.serverPreface.set(true)
        case .goAway(let lastStreamID, let errorCode, let opaqueData):
            logger?.debug("GOAWAY received", metadata: [
                LogKeys.goAwayCode: "\(errorCode.specName)", LogKeys.goAwayDebug: "\(opaqueData.map { String(buffer: $0) } ?? "")",
                LogKeys.lastStreamID: "\(lastStreamID)",
            ])
            connection.peek()?.state.withLock { $0.goingAway = true }
            if connection.peek()?.load == 0 { context.close(promise: nil) }
        case .ping(let data, ack: true) where data == Self.pingData:
            pingTimeout?.cancel()
            pingTimeout = nil
        default:
            break
        }
        context.fireChannelRead(data)
    }

    /// A connection error (swift-nio-http2 has already sent GOAWAY) or an I/O error: the
    /// connection is done. Closing it ends its calls with UNAVAILABLE; left open, they would
    /// wait forever.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger?.debug("connection error", metadata: [LogKeys.error: "\(error)"])
        connection.peek()?.state.withLock { $0.goingAway = true }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.peek()?.state.withLock { $0.closed = true }
        connection.peek()?.serverPreface.set(false)
        pingTask?.cancel()
        pingTimeout?.cancel()
        context.fireChannelInactive()
    }

    private func schedulePing(context: ChannelHandlerContext) {
        guard let interval = keepalive.time, pingTask == nil else { return }
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        pingTask = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(interval.seconds * 1e9))) {
            loop.value.pingTask = nil
            loop.value.ping(context: loopContext.value)
        }
    }

    private func ping(context: ChannelHandlerContext) {
        let calls = connection.peek()?.load ?? 0
        if calls > 0 || keepalive.permitWithoutCalls {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(Self.pingData, ack: false))),
                                  promise: nil)
            logger?.trace("keepalive ping sent")
            if pingTimeout == nil {
                let channel = context.channel
                let logger = self.logger
                pingTimeout = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(keepalive.timeout.seconds * 1e9))) {
                    // No ACK in time: the peer is gone.
                    logger?.debug("keepalive ping not acknowledged in time: closing the connection")
                    channel.close(promise: nil)
                }
            }
        }
        schedulePing(context: context)
    }
}

extension HTTP2ErrorCode {
    /// The code's name as RFC 9113 spells it (`NO_ERROR`, `ENHANCE_YOUR_CALM`), for logs.
    var specName: String {
        switch self {
        case .noError: "NO_ERROR"
        case .protocolError: "PROTOCOL_ERROR"
        case .internalError: "INTERNAL_ERROR"
        case .flowControlError: "FLOW_CONTROL_ERROR"
        case .settingsTimeout: "SETTINGS_TIMEOUT"
        case .streamClosed: "STREAM_CLOSED"
        case .frameSizeError: "FRAME_SIZE_ERROR"
        case .refusedStream: "REFUSED_STREAM"
        case .cancel: "CANCEL"
        case .compressionError: "COMPRESSION_ERROR"
        case .connectError: "CONNECT_ERROR"
        case .enhanceYourCalm: "ENHANCE_YOUR_CALM"
        case .inadequateSecurity: "INADEQUATE_SECURITY"
        case .http11Required: "HTTP_1_1_REQUIRED"
        default: "0x\(String(networkCode, radix: 16))"
        }
    }
}
