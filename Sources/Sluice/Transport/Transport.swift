import Synchronization

/// How a call ended: the error (nil for OK) and the trailing metadata.
public struct CallEnd: Sendable {
    public var error: RPCError?
    public var trailers: Metadata

    public init(error: RPCError?, trailers: Metadata) {
        self.error = error
        self.trailers = trailers
    }
}

/// One RPC as a client transport opened it: serialized requests out; response headers,
/// messages and the end in.
public struct ClientStream: Sendable {
    /// Request messages, serialized, each marked whether to compress it with the call's
    /// encoding. Finishing the writer half-closes the stream.
    public let requests: RPCWriter<SerializedMessage>
    /// The response headers (empty for a Trailers-Only response).
    public let headers: OneShot<Metadata>
    /// Response messages, serialized, with whether each arrived compressed; the sequence
    /// throws the call's error if it fails.
    public let messages: RPCAsyncSequence<SerializedMessage>
    /// The status and trailers.
    public let end: OneShot<CallEnd>
    private let abort: @Sendable (RPCError) -> Void
    private let sink: ClientStreamSink

    /// State the call's layers share.
    var state: ClientCallState { sink.state }

    /// Aborts the RPC (RST_STREAM on HTTP/2) and ends it locally with `error`.
    public func cancel(_ error: RPCError) {
        abort(error)
        sink.receive(.end(error, trailers: [:]))
    }

    init(requests: RPCWriter<SerializedMessage>, sink: ClientStreamSink, abort: @escaping @Sendable (RPCError) -> Void) {
        self.requests = requests
        self.headers = sink.headers
        self.messages = sink.messages
        self.end = sink.end
        self.abort = abort
        self.sink = sink
    }
}

/// The transport's side of a ``ClientStream``: where it delivers what the server sent.
public struct ClientStreamSink: Sendable {
    let headers: OneShot<Metadata>
    let messagesWriter: RPCWriter<SerializedMessage>
    let messages: RPCAsyncSequence<SerializedMessage>
    let end: OneShot<CallEnd>
    /// Cancels the call if the reader drops the response stream early.
    let state: ClientCallState

    /// Delivers a response part. Returns whether more are welcome now; after false, an event
    /// loop producer waits for its `onDemand` callback before reading on.
    @discardableResult
    public func receive(_ part: ResponsePart) -> Bool {
        switch part {
        case .headers(let metadata, _):
            state.markResponseStarted()
            headers.set(metadata)
            return true
        case .message(let message):
            state.markResponseStarted()
            state.counters.received(message.bytes.count)
            return messagesWriter.yield(message)
        case .end(let error, let trailers):
            headers.set([:])
            if end.set(CallEnd(error: error, trailers: trailers)) {
                state.ended(error)
                if let error { messagesWriter.finish(throwing: error) } else { messagesWriter.finish() }
            }
            return false
        }
    }

    /// Delivers response parts that arrived together (one read from the socket). A message
    /// followed directly by the end reaches the reader together with the end, so a reader
    /// woken for the message finds the call over instead of waiting to be woken again.
    /// Returns whether more are welcome now, as ``receive(_:)`` does.
    @discardableResult
    public func receive(contentsOf parts: some Sequence<ResponsePart>) -> Bool {
        var more = true
        var held: ResponsePart?
        for part in parts {
            if case .message(let message)? = held, case .end(let error, let trailers) = part {
                endAfter(message, error: error, trailers: trailers)
                return false
            }
            if let held { more = receive(held) }
            held = part
        }
        if let held { more = receive(held) }
        return more
    }

    private func endAfter(_ message: SerializedMessage, error: RPCError?, trailers: Metadata) {
        state.markResponseStarted()
        state.counters.received(message.bytes.count)
        headers.set([:])
        guard end.set(CallEnd(error: error, trailers: trailers)) else { return }
        state.ended(error)
        messages.pipe.yieldLast(message, throwing: error)
    }

    /// Delivers a response part, waiting while the reader is behind: for transports that
    /// run as tasks rather than event handlers.
    public func deliver(_ part: ResponsePart) async {
        if case .message(let message) = part {
            state.markResponseStarted()
            state.counters.received(message.bytes.count)
            // Fails only once the reader has gone, and then the call is being cancelled.
            try? await messagesWriter.write(message)
        } else {
            receive(part)
        }
    }

    /// Whether the call has ended.
    public var hasEnded: Bool { end.peek() != nil }
}

/// Makes the two sides of a client RPC stream whose requests go straight to the transport.
///
/// - Parameters:
///   - requests: The transport's writer for serialized requests; finishing it half-closes.
///   - highWatermark: Responses buffered before the transport is told to pause.
///   - byteLimit: Bytes of responses buffered before the transport is told to pause (one
///     response larger than that still passes alone).
///   - onDemand: Called when a transport paused by ``ClientStreamSink/receive(_:)`` may read on.
///   - onAbort: Called when the client cancels; the transport resets the stream.
public func makeClientStream(
    requests: RPCWriter<SerializedMessage>,
    highWatermark: Int = 16,
    byteLimit: Int = .max,
    onDemand: (@Sendable () -> Void)? = nil,
    onAbort: @escaping @Sendable (RPCError) -> Void
) -> (stream: ClientStream, sink: ClientStreamSink) {
    let end = OneShot<CallEnd>()
    // A reader that leaves before the end cancels the call.
    let state = ClientCallState(requests: requests)
    let responses = makeRPCStream(ofMessagesUpTo: byteLimit, highWatermark: highWatermark, onDemand: onDemand) {
        state.fire(RPCError(code: .cancelled, message: "the response stream was dropped"))
    }
    let sink = ClientStreamSink(headers: OneShot(), messagesWriter: responses.writer, messages: responses.sequence, end: end,
                                state: state)
    let stream = ClientStream(requests: requests, sink: sink, abort: onAbort)
    state.set(stream)
    return (stream, sink)
}

/// What a client call's layers share, in one object per call: the stream that the response
/// pipe's reader-gone callback and the caller's cancel cancel (bound late, because the
/// callback must exist before the stream does; cleared at the end, because the stream holds
/// the pipe that holds this), the request writer and the size limits, and whether the
/// response message read last arrived compressed. Closures that capture this object alone
/// cost no allocation.
final class ClientCallState: MessageDecodingObserver, Sendable {
    private let stream = Mutex<ClientStream?>(nil)
    private let lastMessageCompressed = Atomic<Bool>(false)
    private let responseStarted = Atomic<Bool>(false)
    private let limit = Atomic<Int>(MessageSizeLimits.defaultMaxReceive)
    private let requestLimit = Atomic<Int>(.max)
    /// Whether messages are JSON rather than protobuf (an atomic flag: ``MessageFormat`` has
    /// two cases, and an atomic costs no lock on every message).
    private let usesJSON = Atomic<Bool>(false)
    /// Messages and bytes sent and received.
    let counters = CallCounters()
    /// Whether sent requests are also kept, for a retry to send again (see ``recording``).
    private let isRecording = Atomic<Bool>(false)
    /// What a retried call's first attempt sent, kept here rather than in a box of its own.
    private let recording = Mutex<RequestRecording?>(nil)
    /// The transport's writer for serialized requests.
    let requests: RPCWriter<SerializedMessage>
    /// The attempt tracer that hears of this stream's end, if its call has one.
    private let attemptTrace = Mutex(AttemptTrace.untraced)

    init(requests: RPCWriter<SerializedMessage>) {
        self.requests = requests
    }

    var lastReceivedWasCompressed: Bool { lastMessageCompressed.load(ordering: .relaxed) }

    /// Response headers or a message arrived: the server began to answer, so a retry policy
    /// has committed to this attempt (gRFC A6). A Trailers-Only response does not count.
    var hasResponseStarted: Bool { responseStarted.load(ordering: .acquiring) }

    func markResponseStarted() { responseStarted.store(true, ordering: .releasing) }

    func setReceiveLimit(_ bytes: Int) { limit.store(bytes, ordering: .relaxed) }

    /// How the call's messages are serialized, both ways.
    func setMessageFormat(_ format: MessageFormat) { usesJSON.store(format == .json, ordering: .relaxed) }

    /// The largest request message to send; nil for no limit.
    func setRequestLimit(_ bytes: Int?) { requestLimit.store(bytes ?? .max, ordering: .relaxed) }

    /// Sends a serialized request, refusing one over the request limit with RESOURCE_EXHAUSTED.
    func sendRequest(_ bytes: [UInt8], compressed: Bool) async throws {
        let limit = requestLimit.load(ordering: .relaxed)
        if bytes.count > limit {
            throw RPCError(code: .resourceExhausted,
                           message: "request message of \(bytes.count) bytes exceeds the \(limit)-byte limit")
        }
        if isRecording.load(ordering: .relaxed) {
            recording.withLock { $0?.append(bytes, compressed: compressed) }
        }
        counters.sent(bytes.count)
        try await requests.write(SerializedMessage(bytes, compressed: compressed))
    }

    /// From now on, requests sent are kept too, within `limit` bytes and the client's budget.
    func startRecording(limit: Int, budget: RetryBufferBudget) {
        recording.withLock { $0 = RequestRecording(limit: limit, budget: budget) }
        isRecording.store(true, ordering: .relaxed)
    }

    /// Stops recording and returns what was kept.
    func takeRecording() -> RequestRecording? {
        isRecording.store(false, ordering: .relaxed)
        return recording.withLock { recording in
            defer { recording = nil }
            return recording
        }
    }

    // MARK: MessageDecodingObserver

    var receiveLimit: Int { limit.load(ordering: .relaxed) }
    var messageFormat: MessageFormat { usesJSON.load(ordering: .relaxed) ? .json : .protobuf }
    func received(compressed: Bool, bytes: Int) { lastMessageCompressed.store(compressed, ordering: .relaxed) }
    func decodingFailed(_ error: RPCError) { fire(error) }

    func set(_ stream: ClientStream) { self.stream.withLock { $0 = stream } }

    /// Cancels the call unless it has already ended.
    func fire(_ error: RPCError) {
        guard let stream = stream.withLock({ $0 }), stream.end.peek() == nil else { return }
        stream.cancel(error)
    }

    /// The call ended: drop the stream (which holds the pipe that holds this box), and tell
    /// the attempt's tracer, if it has one.
    func ended(_ error: RPCError?) {
        stream.withLock { $0 = nil }
        let traced = attemptTrace.withLock { trace -> (any ClientAttemptTracer, ClientAttempt)? in
            defer { trace = .ended(error) }
            if case .tracing(let tracer, let attempt) = trace { return (tracer, attempt) }
            return nil
        }
        if let (tracer, attempt) = traced {
            tracer.attemptEnded(attempt, ClientAttemptEnd(error: error, statistics: counters.snapshot, ended: .now))
        }
    }

    /// Reports this stream's end to `tracer` as the end of `attempt`: when it comes, or at once
    /// if it came before the tracer could be attached.
    func trace(_ attempt: ClientAttempt, to tracer: any ClientAttemptTracer) {
        let endedAlready: RPCError?? = attemptTrace.withLock { trace in
            if case .ended(let error) = trace { return .some(error) }
            trace = .tracing(tracer, attempt)
            return .none
        }
        if case .some(let error) = endedAlready {
            tracer.attemptEnded(attempt, ClientAttemptEnd(error: error, statistics: counters.snapshot, ended: .now))
        }
    }
}

/// Whether a stream's end is to be reported to an attempt tracer.
private enum AttemptTrace {
    case untraced
    case tracing(any ClientAttemptTracer, ClientAttempt)
    /// The stream ended (with this error, nil for OK); a tracer attached now hears at once.
    case ended(RPCError?)
}

/// Carries RPCs to a server: HTTP/2 in `SluiceHTTP2`, in-process for tests.
public protocol ClientTransport: Sendable {
    /// Opens a stream for one RPC. Fails with UNAVAILABLE when no connection can be had.
    func openStream(_ head: RequestHead) async throws -> ClientStream
    /// Closes connections once open streams end.
    func close() async
}

/// One RPC as a server transport accepted it.
public struct ServerStream: Sendable {
    public let head: RequestHead
    /// The client's messages, serialized.
    public let requests: RPCAsyncSequence<SerializedMessage>
    /// Headers, messages and the end, to the client. The server writes `.headers` at most
    /// once, before any message, and `.end` last.
    public let responses: RPCWriter<ResponsePart>
    /// Description of the peer, such as `ipv4:127.0.0.1:53012`.
    public let peer: String

    public init(head: RequestHead, requests: RPCAsyncSequence<SerializedMessage>, responses: RPCWriter<ResponsePart>, peer: String) {
        self.head = head
        self.requests = requests
        self.responses = responses
        self.peer = peer
    }
}
// The transport runs each stream's handler in a task it cancels when the client cancels the
// RPC or goes away; the handler's writes then fail and its reads end.

/// Accepts RPCs for a server.
public protocol ServerTransport: Sendable {
    /// Accepts streams and calls `handle` for each, concurrently, until shut down. Returns
    /// once every accepted stream's handler has returned.
    func listen(_ handle: @escaping @Sendable (ServerStream) async -> Void) async throws
    /// Where the server accepts calls, once ``listen(_:)`` has started listening. Throws the
    /// error that kept it from listening (an address in use, a bad TLS configuration), or
    /// UNAVAILABLE if it was shut down first.
    var listeningAddress: ListeningAddress { get async throws }
    /// Stops accepting; streams in flight run to completion.
    func beginGracefulShutdown()
    /// Stops accepting and ends every stream in flight now: their handlers are cancelled and
    /// clients see the call fail. ``listen(_:)`` still returns only once the handlers have.
    func shutdownNow()
    /// What the transport is doing now, for ``GRPCServer/statusSnapshot(health:)``; nil if it
    /// does not say.
    var activity: ServerTransportActivity? { get }
}
