import Logging
import NIOCore
import NIOHTTP2
import Sluice

/// Fired down a server connection's pipeline when the server begins a graceful shutdown.
struct ServerGracefulShutdownEvent: Sendable {}

/// Connection-level work of a server connection: enforces the keepalive policy on client
/// pings, and runs the connection's ``ServerConnectionLifecycle`` (handshake deadline, idle
/// and age limits) with timers on its event loop.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var enforcer: KeepaliveEnforcer
    /// The connection's streams: how many calls are open, and whether data went out.
    private let streams: StreamTable<ServerStreamHandler>
    private var lifecycle: ServerConnectionLifecycle
    private let acceptedAt: ContinuousClock.Instant
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var ageTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    private let logger: Logger?

    init(keepalive: ServerKeepalive, limits: ServerConnectionLimits, streams: StreamTable<ServerStreamHandler>, logger: Logger?) {
        self.logger = logger
        self.enforcer = KeepaliveEnforcer(policy: keepalive)
        self.streams = streams
        self.acceptedAt = .now
        self.lifecycle = ServerConnectionLifecycle(limits: limits, acceptedAt: acceptedAt,
                                                   jitter: Double.random(in: 0.9...1.1))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added as the connection is accepted: the handshake deadline runs from here.
        if let deadline = lifecycle.handshakeDeadline(acceptedAt: acceptedAt) {
            handshakeTimer = schedule(at: deadline, context: context) { handler, context in
                let action = handler.lifecycle.handshakeTimerFired()
                if action == .close { handler.logger?.debug("closing the connection: no HTTP/2 preface before the handshake deadline") }
                handler.perform(action, context: context)
            }
        }
        if let deadline = lifecycle.ageDeadline {
            ageTimer = schedule(at: deadline, context: context) { handler, context in
                handler.perform(handler.lifecycle.ageTimerFired(at: .now), context: context)
                if let grace = handler.lifecycle.graceDeadline {
                    handler.graceTimer = handler.schedule(at: grace, context: context) { handler, context in
                        let action = handler.lifecycle.graceTimerFired()
                        if action == .close { handler.logger?.debug("closing the connection: calls outlived the age grace period") }
                        handler.perform(action, context: context)
                    }
                }
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for timer in [handshakeTimer, idleTimer, ageTimer, graceTimer] { timer?.cancel() }
    }

    /// A connection error (swift-nio-http2 has already sent GOAWAY) or an I/O error: the
    /// connection is done, and closing it cancels its calls' handlers. Stream errors do not
    /// get here: the stream table keeps them on their stream.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger?.debug("connection error", metadata: [LogKeys.error: "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings):
            if lifecycle.phase == .handshaking {
                lifecycle.handshakeCompleted()
                handshakeTimer?.cancel()
                handshakeTimer = nil
                // Idleness counts from here: a connection still handshaking is not idle.
                scheduleIdleCheck(context: context)
            }
        case .ping(_, ack: false):
            if streams.takeDataSent() { enforcer.didSendData() }
            let strikesBefore = enforcer.strikes
            let verdict = enforcer.receivedPing(at: .now, activeCalls: streams.openStreams)
            if enforcer.strikes > strikesBefore {
                logger?.trace("keepalive ping strike", metadata: [LogKeys.pingStrikes: "\(enforcer.strikes)"])
            }
            if verdict == .goAway {
                logGoAway("ENHANCE_YOUR_CALM", "too_many_pings")
                let goAway = HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: .maxID, errorCode: .enhanceYourCalm,
                                     opaqueData: context.channel.allocator.buffer(string: "too_many_pings")))
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(goAway)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is NIOHTTP2StreamCreatedEvent {
            lifecycle.streamOpened()
        } else if event is StreamClosedEvent {
            perform(lifecycle.streamClosed(at: .now), context: context)
            scheduleIdleCheck(context: context)
        } else if event is ServerGracefulShutdownEvent {
            perform(lifecycle.shutdownRequested(), context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard idleTimer == nil, let check = lifecycle.nextIdleCheck() else { return }
        idleTimer = schedule(at: check, context: context) { handler, context in
            handler.idleTimer = nil
            handler.perform(handler.lifecycle.idleTimerFired(at: .now), context: context)
            // Calls came and went meanwhile: look again when the new idle period would end.
            handler.scheduleIdleCheck(context: context)
        }
    }

    private func perform(_ action: ServerConnectionLifecycle.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .close:
            context.close(promise: nil)
        case .closeWhenWritten:
            // This runs inside swift-nio-http2's write of the stream's last frame, before it is
            // flushed. On the next tick, a final GOAWAY goes out behind it (writes complete
            // in order), and the connection closes once that has been written.
            let channel = context.channel
            logGoAway("NO_ERROR", "drained")
            context.eventLoop.execute {
                let goAway = HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: .maxID, errorCode: .noError,
                                     opaqueData: channel.allocator.buffer(string: "drained")))
                channel.writeAndFlush(goAway).whenComplete { _ in channel.close(promise: nil) }
            }
        case .goAway(let debugText, let closeNow):
            logGoAway("NO_ERROR", debugText)
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: .maxID, errorCode: .noError,
                                 opaqueData: context.channel.allocator.buffer(string: debugText)))
            let written = context.writeAndFlush(wrapOutboundOut(goAway))
            if closeNow {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    private func logGoAway(_ code: String, _ debugText: String) {
        logger?.debug("GOAWAY sent", metadata: [LogKeys.goAwayCode: "\(code)", LogKeys.goAwayDebug: "\(debugText)"])
    }

    /// Runs `body` on the loop at `deadline`, unless the handler is gone by then.
    private func schedule(at deadline: ContinuousClock.Instant, context: ChannelHandlerContext,
                          _ body: @escaping (ServerConnectionHandler, ChannelHandlerContext) -> Void) -> Scheduled<Void> {
        let delay = ContinuousClock.now.duration(to: deadline)
        let nanoseconds = max(0, Int64(delay.components.seconds) * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000)
        // The handler, its context and the body all belong to the loop the task runs on.
        let loopBound = NIOLoopBound((self, context, body), eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            let (handler, context, body) = loopBound.value
            body(handler, context)
        }
    }
}
