import Synchronization

/// What a server handler knows about its call, and how it sets response metadata.
///
/// Available to the handler as a parameter and, for code it calls, as ``current``: a client
/// call made while handling a request reads it to inherit the deadline.
public struct ServerContext: Sendable {
    public let method: MethodDescriptor
    /// The request's metadata (headers, without the reserved ones).
    public let metadata: Metadata
    /// When the client wants the call over; the handler is cancelled then.
    public let deadline: ContinuousClock.Instant?
    /// The client's address, such as `ipv4:127.0.0.1:53012`.
    public let peer: String
    let call: ServerCallState
    let acceptEncoding: [String]

    /// The context of the handler running in this task, if any.
    @TaskLocal public static var current: ServerContext?

    init(method: MethodDescriptor, metadata: Metadata, deadline: ContinuousClock.Instant?, peer: String,
         acceptEncoding: [String] = [], messageFormat: MessageFormat = .protobuf, responses: RPCWriter<ResponsePart>) {
        self.acceptEncoding = acceptEncoding
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.call = ServerCallState(responses: responses, acceptEncoding: acceptEncoding, messageFormat: messageFormat)
    }

    /// How the client serialized its messages, which the responses follow: protobuf, or
    /// JSON for an `application/grpc+json` call.
    public var messageFormat: MessageFormat { call.messageFormat }

    /// Time left until the deadline, if there is one.
    public var timeRemaining: Duration? {
        deadline.map { ContinuousClock.now.duration(to: $0) }
    }

    /// Adds response headers; they go out with the first message (or the status).
    public func addResponseHeader(_ key: String, _ value: Metadata.Value) {
        call.state.withLock { $0.headers.add(key, value) }
    }

    /// Compresses the response messages with `algorithm`, if the client accepts it.
    public func setResponseCompression(_ algorithm: CompressionAlgorithm?) {
        call.state.withLock { $0.compression = algorithm }
    }

    /// The encodings the client said it accepts (`grpc-accept-encoding`).
    public var acceptedEncodings: [String] {
        acceptEncoding
    }

    /// Whether the request message read last arrived compressed. Servers that must insist on
    /// compression (the interop tests' `expect_compressed`) check it after each read.
    public var lastRequestWasCompressed: Bool {
        call.lastRequestCompressed.load(ordering: .relaxed)
    }

    /// Requests read and responses written so far, and their bytes.
    public var statistics: CallStatistics { call.counters.snapshot }

    /// Adds trailing metadata, sent with the status.
    public func addTrailer(_ key: String, _ value: Metadata.Value) {
        call.state.withLock { $0.trailers.add(key, value) }
    }
}

/// The server call's one shared object: response metadata the handler sets through its
/// context while it runs, the writer its responses go to, and the compression flag of the
/// request read last. Closures that capture it alone cost no allocation.
final class ServerCallState: MessageDecodingObserver, Sendable {
    struct State {
        var headers = Metadata()
        var trailers = Metadata()
        var compression: CompressionAlgorithm?
        /// The response headers have been written (ahead of the first message).
        var headersSent = false
    }

    let state = Mutex(State())
    let lastRequestCompressed = Atomic<Bool>(false)
    /// Requests read and responses written.
    let counters = CallCounters()
    /// Headers, messages and the end, to the transport.
    let responses: RPCWriter<ResponsePart>
    private let acceptEncoding: [String]
    /// The request's format, which the responses are written in too.
    let messageFormat: MessageFormat

    init(responses: RPCWriter<ResponsePart>, acceptEncoding: [String], messageFormat: MessageFormat) {
        self.responses = responses
        self.acceptEncoding = acceptEncoding
        self.messageFormat = messageFormat
    }

    /// Writes a response message, preceded by the response headers (`base` plus what the
    /// handler added) if it is the first.
    func writeMessage(_ bytes: [UInt8], compressed: Bool, headers base: Metadata) async throws {
        let first = state.withLock { state -> (Metadata, CompressionAlgorithm?)? in
            guard !state.headersSent else { return nil }
            state.headersSent = true
            return (state.headers, state.compression)
        }
        if let (extra, compression) = first {
            var headers = base
            headers.add(contentsOf: extra)
            let accepted = compression.map { acceptEncoding.contains($0.name) } ?? false
            try await responses.write(.headers(headers, compression: accepted ? compression : nil))
        }
        counters.sent(bytes.count)
        try await responses.write(.message(SerializedMessage(bytes, compressed: compressed)))
    }

    // MARK: MessageDecodingObserver

    /// The transport has already refused larger requests; this is gRPC's default.
    var receiveLimit: Int { MessageSizeLimits.defaultMaxReceive }
    func received(compressed: Bool, bytes: Int) {
        lastRequestCompressed.store(compressed, ordering: .relaxed)
        counters.received(bytes)
    }
    /// The error reaches the handler, whose failure ends the call.
    func decodingFailed(_ error: RPCError) {}
}
