/// A client call as interceptors see it: metadata, and a producer of request messages.
public struct StreamingClientRequest<Message: Sendable>: Sendable {
    private enum Source: Sendable {
        /// The one request of a unary or server-streaming call, kept as a value: a closure
        /// capturing it would cost an allocation per call.
        case single(Message)
        case producer(@Sendable (MessageWriter<Message>) async throws -> Void)
    }

    public var metadata: Metadata
    private var source: Source

    /// Writes the request messages; returning half-closes the stream.
    public var producer: @Sendable (MessageWriter<Message>) async throws -> Void {
        get {
            switch source {
            case .single(let message): return { try await $0.write(message) }
            case .producer(let producer): return producer
            }
        }
        set { source = .producer(newValue) }
    }

    public init(metadata: Metadata = [:], producer: @escaping @Sendable (MessageWriter<Message>) async throws -> Void) {
        self.metadata = metadata
        self.source = .producer(producer)
    }

    /// A request of one message.
    init(metadata: Metadata, single message: Message) {
        self.metadata = metadata
        self.source = .single(message)
    }

    /// Runs the producer (or writes the one message) into `writer`.
    func produce(into writer: MessageWriter<Message>) async throws {
        switch source {
        case .single(let message): try await writer.write(message)
        case .producer(let producer): try await producer(writer)
        }
    }
}

/// A client call's response as interceptors see it.
public struct StreamingClientResponse<Message: Sendable>: Sendable {
    /// Response headers, once they arrive.
    public var headers: OneShot<Metadata>
    /// The response messages; the sequence throws the call's error when it fails.
    public var messages: any AsyncSequence<Message, any Error> & Sendable
    /// The status and trailers, once the call ends.
    public var end: OneShot<CallEnd>
    /// Cancels the call.
    public var cancel: @Sendable () -> Void
    /// The transport's per-call state, where decoding records each message's compression flag;
    /// nil for a response an interceptor made up.
    var state: ClientCallState?
    /// For a retried streaming call, the attempt it committed to, whose state counts what was
    /// sent and received (``state`` is then the caller's own stream's).
    var committedAttempt: OneShot<ClientStream>?
    private var committedState: ClientCallState? { committedAttempt?.peek()?.state }
    /// How many attempts the call took (more than 1 when its retry policy retried it). For a
    /// retried streaming call, the count so far until an attempt commits.
    public var attempts: Int {
        get { attemptCount?.value ?? fixedAttempts }
        set {
            fixedAttempts = newValue
            attemptCount = nil
        }
    }
    private var fixedAttempts = 1
    /// The live count of a call whose retries go on after it was returned.
    var attemptCount: AttemptCount?

    /// Whether the response message read last arrived compressed.
    public var lastMessageWasCompressed: Bool {
        state?.lastReceivedWasCompressed ?? false
    }

    /// Requests sent and responses received so far (by the committed attempt, for a retried
    /// call); zeros for a response an interceptor made up.
    public var statistics: CallStatistics {
        (committedState ?? state)?.counters.snapshot ?? CallStatistics()
    }

    public init(headers: OneShot<Metadata>, messages: any AsyncSequence<Message, any Error> & Sendable,
                end: OneShot<CallEnd>, cancel: @escaping @Sendable () -> Void) {
        self.headers = headers
        self.messages = messages
        self.end = end
        self.cancel = cancel
    }
}

/// A server call as interceptors and handlers see it.
public struct StreamingServerRequest<Message: Sendable>: Sendable {
    public var metadata: Metadata
    public var messages: any AsyncSequence<Message, any Error> & Sendable

    public init(metadata: Metadata, messages: any AsyncSequence<Message, any Error> & Sendable) {
        self.metadata = metadata
        self.messages = messages
    }
}

/// A server call's response: headers, and a producer that writes the messages and returns
/// the trailers. Throwing an ``RPCError`` from the producer ends the call with it.
public struct StreamingServerResponse<Message: Sendable>: Sendable {
    public var headers: Metadata
    public var producer: @Sendable (MessageWriter<Message>) async throws -> Metadata

    public init(headers: Metadata = [:], producer: @escaping @Sendable (MessageWriter<Message>) async throws -> Metadata) {
        self.headers = headers
        self.producer = producer
    }
}

/// What client interceptors know about the call.
public struct ClientContext: Sendable {
    public let method: MethodDescriptor
    public var options: CallOptions
    /// The service config's settings for the method, if any: its retry policy among them.
    public var methodConfig: MethodConfig?
    /// The retry token bucket of the service config the method config came from.
    var retryThrottle: RetryThrottle?
    /// What hears of each attempt of the call, set by interceptors through
    /// ``addAttemptTracer(_:)``; nil when none asked.
    public internal(set) var attemptTracer: (any ClientAttemptTracer)?

    public init(method: MethodDescriptor, options: CallOptions, methodConfig: MethodConfig? = nil) {
        self.method = method
        self.options = options
        self.methodConfig = methodConfig
    }
}

/// Sees every client call, of any kind: its metadata, each message (by wrapping the
/// producer or the response sequence) and its end. Throwing instead of calling `next`
/// short-circuits the call.
public protocol ClientInterceptor: Sendable {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output>
}

/// Sees every server call before its handler. Throwing an ``RPCError`` instead of calling
/// `next` ends the call with it (an auth interceptor answering UNAUTHENTICATED, say).
public protocol ServerInterceptor: Sendable {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output>
}
