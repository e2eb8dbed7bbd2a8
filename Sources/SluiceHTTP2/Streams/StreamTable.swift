import NIOCore
import NIOHTTP2

/// One gRPC call's end of an HTTP/2 stream, driven by its connection's ``StreamTable``.
/// Event-loop confined.
protocol StreamEndpoint: AnyObject {
    /// A frame for this stream arrived.
    func receive(_ payload: HTTP2Frame.FramePayload)
    /// ``StreamTable/isWritable(_:)`` may have changed.
    func writabilityChanged()
    /// The stream is closed: both sides ended it, either reset it, or the connection went away;
    /// `cause` says which. Called once; the table forgets the endpoint afterwards.
    func streamClosed(_ cause: StreamCloseCause)
    /// The frames of the current read have all been delivered (after
    /// ``StreamTable/notifyAtReadComplete(_:)``).
    func readComplete()
}

/// The streams of one HTTP/2 connection, in a table rather than a channel each.
///
/// swift-nio-http2's multiplexer gives every stream a child channel with its own pipeline,
/// handler contexts and promises: about 30 allocations per call, a quarter of what a unary RPC
/// cost in total. This handler sits right behind ``NIOHTTP2Handler`` (used without a
/// multiplexer), routes each frame by stream ID to the stream's ``StreamEndpoint``, and does
/// for each stream what the child channel did:
/// - receive flow control: WINDOW_UPDATE for what the call consumed, withheld while it is
///   behind (``InboundWindow``), and for the connection as soon as bytes arrive, as grpc-go does;
/// - send backpressure: DATA not yet sent because the peer's window is closed counts against
///   the stream (``OutboundBacklog``), learned from swift-nio-http2's frame delegate;
/// - stream IDs for the streams a client opens.
///
/// - stream errors: swift-nio-http2 (used without a multiplexer) resets a stream whose peer
///   broke the protocol on it and then reports the error like any other. The table tells them
///   apart by the RST_STREAM it saw swift-nio-http2 write, closes that stream alone with the
///   cause, and keeps the error from the connection handler, which closes the connection on
///   the errors that reach it;
/// - a receive budget for the connection (``ConnectionReceiveBudget``): streams whose calls are
///   behind hold what their peer sent meanwhile, and once they hold more than the budget
///   together, the connection's window stops being returned too.
///
/// Frames of the connection itself (SETTINGS, PING, GOAWAY), user events and connection errors
/// pass on to the connection handler behind.
final class StreamTable<Endpoint: StreamEndpoint>: ChannelDuplexHandler, NIOHTTP2FrameDelegate {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Makes the endpoint of a stream the peer opened; nil refuses the stream.
    typealias Accept = (HTTP2StreamID, StreamTable<Endpoint>) -> Endpoint?

    private struct Entry {
        let endpoint: Endpoint
        var inbound: InboundWindow
        var outbound = OutboundBacklog()
        /// The peer ended its side: its window must not be updated any more (swift-nio-http2
        /// treats a WINDOW_UPDATE on a half-closed stream as a protocol error).
        var peerEnded = false
    }

    /// RFC 9113: every connection starts with a 65,535-byte window.
    static var defaultConnectionWindow: Int { 65_535 }

    private var streams: [HTTP2StreamID: Entry] = [:]
    private var connectionWindow: InboundWindow
    private var budget: ConnectionReceiveBudget
    /// A frame is being written by this table (so a RST_STREAM the frame delegate sees is ours,
    /// not swift-nio-http2's answer to a stream error).
    private var writingOwnFrame = false
    /// The stream swift-nio-http2 just reset for a stream error, and the code it sent; the error
    /// itself follows through `errorCaught`.
    private var resetByHTTP2: (streamID: HTTP2StreamID, code: HTTP2ErrorCode)?
    /// That stream's endpoint, closed by then, waiting for the error to report it with.
    private var closedByHTTP2: (endpoint: Endpoint, code: HTTP2ErrorCode)?
    /// The GOAWAY the peer sent, if any.
    private var goAwayReceived: (lastStreamID: HTTP2StreamID, code: HTTP2ErrorCode, debugData: String)?
    /// The connection error that is closing the connection, if any.
    private var connectionError: (any Error)?
    private let streamWindow: Int
    private let maxConcurrentStreams: Int
    private let accept: Accept?
    /// The ID of the next stream this side opens; nil once they are used up.
    private var nextStreamID: HTTP2StreamID?
    private var context: ChannelHandlerContext?
    private var needsFlush = false
    /// HEADERS or DATA left the connection since ``takeDataSent()`` last looked.
    private var dataSent = false
    /// Streams to tell when the current read is done; kept, emptied, for the next read.
    private var awaitingReadComplete: [HTTP2StreamID] = []
    private var spareAwaiting: [HTTP2StreamID] = []

    /// - Parameters:
    ///   - streamWindow: The SETTINGS_INITIAL_WINDOW_SIZE this side advertises.
    ///   - connectionWindow: The receive window to grow the connection's to.
    ///   - receiveBudget: Bytes the streams whose calls are behind may hold together before the
    ///     connection's window is withheld as well.
    ///   - accept: For servers: makes endpoints for the streams clients open. Clients pass nil
    ///     and open streams with ``open(_:)``.
    ///   - maxConcurrentStreams: For servers: streams the peer may have open; one more is refused
    ///     with RST_STREAM REFUSED_STREAM (see ``AdvertisedStreamLimit``).
    init(streamWindow: Int, connectionWindow: Int, receiveBudget: Int = .max, maxConcurrentStreams: Int = .max,
         accept: Accept?) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.streamWindow = streamWindow
        self.connectionWindow = InboundWindow(target: connectionWindow)
        self.budget = ConnectionReceiveBudget(limit: receiveBudget)
        self.accept = accept
        self.nextStreamID = accept == nil ? 1 : nil
    }

    // MARK: - The endpoints' side

    var eventLoop: (any EventLoop)? { context?.eventLoop }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var openStreams: Int { streams.count }

    /// Registers a stream this side opens; nil when the connection is closed or out of IDs.
    func open(_ endpoint: Endpoint) -> HTTP2StreamID? {
        // After the peer's GOAWAY, swift-nio-http2 fails a new stream's HEADERS write without
        // closing it: refuse here, so the call moves on instead of waiting forever.
        guard let context, context.channel.isActive, goAwayReceived == nil, let id = nextStreamID else { return nil }
        let next = Int(id) + 2
        nextStreamID = next <= Int(HTTP2StreamID.maxID) ? HTTP2StreamID(next) : nil
        streams[id] = Entry(endpoint: endpoint, inbound: InboundWindow(target: streamWindow))
        return id
    }

    /// Whether HEADERS or DATA has left the connection since the last call. Keepalive
    /// enforcement resets its ping strikes on data sent, and "sent" must mean on the wire, as in
    /// grpc-go (whose loopy writer resets them on each frame it writes): data queued behind flow
    /// control goes out only when the client's WINDOW_UPDATE arrives, which grpc-go clients
    /// send right before each bandwidth-estimation ping.
    func takeDataSent() -> Bool {
        defer { dataSent = false }
        return dataSent
    }

    /// Whether this side can open another stream (IDs are not used up, no GOAWAY received).
    var canOpenStreams: Bool { nextStreamID != nil && goAwayReceived == nil }

    /// Writes a frame on a stream; it goes out on the next ``flush()``.
    func write(_ payload: HTTP2Frame.FramePayload, on streamID: HTTP2StreamID) {
        guard let context else { return }
        if case .data(let data) = payload {
            // Writability is read by the writer after it flushes, so the change is not announced.
            _ = update(streamID) { $0.outbound.queued(data.data.readableBytes) }
        }
        writingOwnFrame = true
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: payload)), promise: nil)
        writingOwnFrame = false
    }

    func flush() {
        needsFlush = false
        context?.flush()
    }

    /// Whether the stream should take more DATA now: its unsent backlog is small and the
    /// connection is writable.
    func isWritable(_ streamID: HTTP2StreamID) -> Bool {
        guard let context, let entry = streams[streamID] else { return false }
        return entry.outbound.isWritable && context.channel.isWritable
    }

    /// Calls the stream's ``StreamEndpoint/readComplete()`` once the frames of the current read
    /// have all been delivered.
    func notifyAtReadComplete(_ streamID: HTTP2StreamID) {
        awaitingReadComplete.append(streamID)
    }

    /// The stream's call is behind: stop returning its window to the peer.
    func pauseReading(_ streamID: HTTP2StreamID) {
        update(streamID) { $0.inbound.pause() }
    }

    /// The stream's call caught up: return what was withheld.
    func resumeReading(_ streamID: HTTP2StreamID) {
        guard let entry = streams[streamID], entry.inbound.isPaused else { return }
        let held = entry.inbound.withheldBytes
        let increment = update(streamID, { $0.peerEnded ? nil : $0.inbound.resume() }) ?? nil
        releaseHeld(held)
        if let increment { write(.windowUpdate(windowSizeIncrement: increment), on: streamID) }
        flush()
    }

    /// Bytes paused streams held were given up (the stream resumed or closed): the connection's
    /// window may flow again.
    private func releaseHeld(_ bytes: Int) {
        guard bytes > 0, let increment = budget.release(bytes) else { return }
        write(.windowUpdate(windowSizeIncrement: increment), on: .rootStream)
        needsFlush = true
    }

    // MARK: - Channel events

    /// Whether the connection window's WINDOW_UPDATE went out (once, from whichever of
    /// handlerAdded and channelActive finds the channel live first).
    private var connectionWindowGrown = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added to a live connection (after a look at its first bytes told it HTTP/2):
        // channelActive has passed, and NIOHTTP2Handler, added just before, wrote the preamble.
        if context.channel.isActive { growConnectionWindow(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        growConnectionWindow(context: context)
        context.fireChannelActive()
    }

    /// NIOHTTP2Handler has written the preamble; grow the connection window past the
    /// protocol's 64 KiB, which would otherwise cap every stream together.
    private func growConnectionWindow(context: ChannelHandlerContext) {
        guard !connectionWindowGrown else { return }
        connectionWindowGrown = true
        let growth = connectionWindow.target - Self.defaultConnectionWindow
        if growth > 0 {
            context.writeAndFlush(
                wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: growth))),
                promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let streamID = frame.streamID
        guard streamID != .rootStream else {
            if case .goAway(let lastStreamID, let code, let opaqueData) = frame.payload {
                goAwayReceived = (lastStreamID, code, opaqueData.map { String(buffer: $0) } ?? "")
            }
            context.fireChannelRead(data)
            return
        }
        if case .data(let payload) = frame.payload {
            let size = payload.data.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
            if streams[streamID]?.inbound.isPaused == true { budget.hold(size) }
            if let increment = connectionWindow.received(size).flatMap({ budget.admit($0) }) {
                write(.windowUpdate(windowSizeIncrement: increment), on: .rootStream)
                needsFlush = true
            }
            // No update for a stream the peer has finished sending on.
            if payload.endStream {
                update(streamID) { $0.peerEnded = true }
            } else if let increment = update(streamID, { $0.inbound.received(size) }) ?? nil {
                write(.windowUpdate(windowSizeIncrement: increment), on: streamID)
                needsFlush = true
            }
        }
        if let endpoint = streams[streamID]?.endpoint {
            endpoint.receive(frame.payload)
        } else if case .headers = frame.payload, accept != nil, streams.count >= maxConcurrentStreams {
            // Over the advertised limit: refused, which tells the client it may retry it.
            write(.rstStream(.refusedStream), on: streamID)
            needsFlush = true
        } else if case .headers = frame.payload, let accept, let endpoint = accept(streamID, self) {
            streams[streamID] = Entry(endpoint: endpoint, inbound: InboundWindow(target: streamWindow))
            endpoint.receive(frame.payload)
        }
        // Anything else is for a stream that has closed, and is dropped.
        if case .headers(let headers) = frame.payload, headers.endStream {
            update(streamID) { $0.peerEnded = true }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A stream error whose error never came: close the stream with what is known. And
        // forget the reset either way: swift-nio-http2 reports a stream error within the read
        // that caused it, and a connection error later must not be taken for one.
        resetByHTTP2 = nil
        if let closed = closedByHTTP2 {
            closedByHTTP2 = nil
            closed.endpoint.streamClosed(.protocolViolation(closed.code, nil))
        }
        if !awaitingReadComplete.isEmpty {
            swap(&awaitingReadComplete, &spareAwaiting)
            for streamID in spareAwaiting { streams[streamID]?.endpoint.readComplete() }
            spareAwaiting.removeAll(keepingCapacity: true)
        }
        if needsFlush { flush() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        for entry in streams.values { entry.endpoint.writabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent, let entry = streams.removeValue(forKey: closed.streamID) {
            releaseHeld(entry.inbound.withheldBytes)
            if let reset = resetByHTTP2, reset.streamID == closed.streamID {
                // Its error comes next, through errorCaught: close the stream with it there.
                closedByHTTP2 = (entry.endpoint, reset.code)
            } else if let goAway = goAwayReceived, closed.streamID > goAway.lastStreamID {
                // Beyond the GOAWAY's last stream: swift-nio-http2 dropped it (the peer never
                // processed it).
                entry.endpoint.streamClosed(.goAwayUnprocessed(goAway.code, debugData: goAway.debugData))
            } else {
                entry.endpoint.streamClosed(.ended)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A stream error stays on its stream; anything else goes on to the connection handler,
    /// which closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let reset = resetByHTTP2 {
            resetByHTTP2 = nil
            if let closed = closedByHTTP2 {
                closedByHTTP2 = nil
                closed.endpoint.streamClosed(.protocolViolation(closed.code, error))
            } else if let entry = streams.removeValue(forKey: reset.streamID) {
                entry.endpoint.streamClosed(.protocolViolation(reset.code, error))
            }
            return
        }
        if connectionError == nil { connectionError = error }
        context.fireErrorCaught(error)
    }

    private func closeAll() {
        var endpoints = streams.values.map(\.endpoint)
        streams.removeAll()
        if let closed = closedByHTTP2 {
            closedByHTTP2 = nil
            endpoints.append(closed.endpoint)
        }
        let cause: StreamCloseCause
        if let connectionError {
            cause = .connectionError(connectionError)
        } else if let goAway = goAwayReceived {
            cause = .goAway(goAway.code, debugData: goAway.debugData)
        } else {
            cause = .connectionClosed
        }
        for endpoint in endpoints { endpoint.streamClosed(cause) }
    }

    // MARK: - NIOHTTP2FrameDelegate

    /// swift-nio-http2 encoded a frame for the wire: DATA held back by flow control is sent.
    func wroteFrame(_ frame: HTTP2Frame) {
        switch frame.payload {
        case .headers, .data: dataSent = true
        case .rstStream(let code) where !writingOwnFrame:
            // swift-nio-http2's answer to a stream error; the error follows.
            resetByHTTP2 = (frame.streamID, code)
            return
        default: return
        }
        guard case .data(let data) = frame.payload,
              update(frame.streamID, { $0.outbound.sent(data.data.readableBytes) }) == true,
              let endpoint = streams[frame.streamID]?.endpoint else { return }
        endpoint.writabilityChanged()
    }

    /// Changes a stream's entry, if it is open. A copy out and back in: Dictionary's `modify`
    /// accessor, which `streams[id]?.field = ...` uses, allocated a coroutine frame per call here.
    @discardableResult
    private func update<Result>(_ streamID: HTTP2StreamID, _ body: (inout Entry) -> Result) -> Result? {
        guard var entry = streams[streamID] else { return nil }
        let result = body(&entry)
        streams[streamID] = entry
        return result
    }
}
