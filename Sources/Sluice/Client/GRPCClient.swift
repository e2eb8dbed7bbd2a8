import Logging
import SluiceProto

/// Makes RPCs over a transport. Generated clients wrap one.
///
/// Every kind of call goes through one path, a bidirectional stream
/// (``streaming(_:request:options:)``); unary, client- and server-streaming calls are shapes
/// over it. Interceptors run in order, the first one outermost.
public struct GRPCClient: Sendable {
    public let transport: any ClientTransport
    public let interceptors: [any ClientInterceptor]
    /// The interceptors run around each call: `interceptors` without the call tracer
    /// factories, which the client calls itself.
    private let chain: [any ClientInterceptor]
    /// The interceptors that make a tracer for each call (see ``ClientCallTracerFactory``).
    private let callTracerFactories: [any ClientCallTracerFactory]
    /// Options for calls that leave them unset.
    public var defaultOptions: CallOptions
    /// Per-method timeouts, size limits and retry policies (gRFC A2).
    public let serviceConfig: ServiceConfig
    /// The token bucket of `serviceConfig.retryThrottling`, shared by this client's calls.
    let retryThrottle: RetryThrottle?
    /// The transport's own service config, when it has one (a channel whose resolver
    /// publishes configs).
    private let resolvedConfigs: (any ResolvedServiceConfigSource)?
    /// How much request data retried calls may keep for replay (gRFC A6).
    public let retryBufferLimits: RetryBufferLimits
    /// The bytes this client's calls keep for replay, against `retryBufferLimits.perChannel`.
    let retryBudget: RetryBufferBudget
    /// Where retries and hedges are logged, at `debug`; nil logs nothing.
    let logger: Logger?

    /// A client of `transport`.
    ///
    /// - Parameters:
    ///   - transport: Carries the calls: an HTTP/2 transport, a ``GRPCChannel``, or the
    ///     in-process transport.
    ///   - interceptors: Run in order around every call, the first outermost; they see each
    ///     call once, whatever its number of attempts. Those that are
    ///     ``ClientCallTracerFactory``s (the metrics interceptor) are not run: the client
    ///     makes their tracer for each call and tells it of every attempt and of the end.
    ///   - defaultOptions: Options for calls that leave them unset.
    ///   - serviceConfig: Per-method timeouts, size limits and retry policies. Over a
    ///     ``GRPCChannel`` whose resolver publishes a service config, that one applies instead
    ///     once published (gRFC A2).
    ///   - retryBufferLimits: How much request data a retried call, and all of this client's
    ///     calls together, may keep for replay; a call past either commits to its attempt.
    ///   - logger: Where each retry (method, the attempt coming, the status that caused it,
    ///     the delay) and each hedged attempt is logged at `debug`, with the keys of
    ///     ``LogKeys``. nil, the default, logs nothing.
    public init(transport: any ClientTransport, interceptors: [any ClientInterceptor] = [], defaultOptions: CallOptions = .defaults,
                serviceConfig: ServiceConfig = ServiceConfig(), retryBufferLimits: RetryBufferLimits = RetryBufferLimits(),
                logger: Logger? = nil) {
        self.logger = logger
        self.transport = transport
        self.interceptors = interceptors
        self.chain = interceptors.filter { !($0 is any ClientCallTracerFactory) }
        self.callTracerFactories = interceptors.compactMap { $0 as? any ClientCallTracerFactory }
        self.defaultOptions = defaultOptions
        self.serviceConfig = serviceConfig
        self.retryThrottle = serviceConfig.retryThrottling.map(RetryThrottle.init)
        self.resolvedConfigs = transport as? any ResolvedServiceConfigSource
        self.retryBufferLimits = retryBufferLimits
        self.retryBudget = RetryBufferBudget(limit: retryBufferLimits.perChannel)
    }

    /// Request bytes this client's retried calls keep for replay now (at most
    /// `retryBufferLimits.perChannel`).
    public var retryBufferBytesInUse: Int { retryBudget.inUse }

    /// Closes the transport's connections once calls in flight end.
    public func close() async {
        await transport.close()
    }

    // MARK: The one call path

    /// Starts a call: interceptors, then the transport.
    public func streaming<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor,
        request: StreamingClientRequest<Request>,
        options: CallOptions = .defaults
    ) async throws -> StreamingClientResponse<Response> {
        // A2: the resolver's config, once it published one, wins over the client's.
        let resolved = await resolvedConfigs?.resolvedServiceConfig(
            waitingUntil: options.effectiveDeadline() ?? defaultOptions.effectiveDeadline())
        let config = resolved?.config ?? serviceConfig
        let methodConfig = config.methodConfig.isEmpty ? nil : config.methodConfig(for: method)
        var context = ClientContext(method: method, options: merged(options, methodConfig), methodConfig: methodConfig)
        context.retryThrottle = resolved.map(\.throttle) ?? retryThrottle
        guard let tracer = makeCallTracer(for: method) else { return try await intercepted(request, context) }
        context.addAttemptTracer(tracer)
        let response: StreamingClientResponse<Response>
        do {
            response = try await intercepted(request, context)
        } catch {
            // Failed before a stream opened (no connection, deadline, an interceptor).
            tracer.callEnded(ClientCallEnd(error: error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")))
            throw error
        }
        response.end.whenSet { end in tracer.callEnded(ClientCallEnd(error: end.error)) }
        return response
    }

    /// The call through the interceptors, then the transport.
    private func intercepted<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>, _ context: ClientContext
    ) async throws -> StreamingClientResponse<Response> {
        // Without interceptors, no chain: the closure would capture this client, an allocation.
        if chain.isEmpty { return try await execute(request, context) }
        return try await Self.run(request, context, chain[...]) { request, context in
            try await execute(request, context)
        }
    }

    /// One tracer for the call from every factory; nil without factories.
    private func makeCallTracer(for method: MethodDescriptor) -> (any ClientCallTracer)? {
        guard let first = callTracerFactories.first else { return nil }
        var tracer = first.makeCallTracer(for: method)
        for factory in callTracerFactories.dropFirst() {
            tracer = ClientCallTracerPair(first: tracer, second: factory.makeCallTracer(for: method))
        }
        return tracer
    }

    private static func run<Request: Sendable, Response: Sendable>(
        _ request: StreamingClientRequest<Request>,
        _ context: ClientContext,
        _ remaining: ArraySlice<any ClientInterceptor>,
        _ terminal: @escaping @Sendable (StreamingClientRequest<Request>, ClientContext) async throws -> StreamingClientResponse<Response>
    ) async throws -> StreamingClientResponse<Response> {
        guard let first = remaining.first else { return try await terminal(request, context) }
        let rest = remaining.dropFirst()
        return try await first.intercept(request: request, context: context) { request, context in
            try await run(request, context, rest, terminal)
        }
    }

    /// The call's options, the client's defaults for what it leaves unset, and the method
    /// config's limits: A2 lets the smaller of a call's and the config's timeout and size
    /// limits apply.
    private func merged(_ options: CallOptions, _ methodConfig: MethodConfig?) -> CallOptions {
        var result = options
        if result.timeout == nil { result.timeout = defaultOptions.timeout }
        if result.deadline == nil { result.deadline = defaultOptions.deadline }
        if result.compression == nil { result.compression = defaultOptions.compression }
        if result.maxRequestMessageBytes == nil { result.maxRequestMessageBytes = defaultOptions.maxRequestMessageBytes }
        if result.maxResponseMessageBytes == nil { result.maxResponseMessageBytes = defaultOptions.maxResponseMessageBytes }
        if result.waitForReady == nil { result.waitForReady = defaultOptions.waitForReady ?? methodConfig?.waitForReady }
        if result.messageFormat == nil { result.messageFormat = defaultOptions.messageFormat }
        if let methodConfig {
            func smaller<T: Comparable>(_ a: T?, _ b: T?) -> T? { a.map { a in b.map { min(a, $0) } ?? a } ?? b }
            result.timeout = smaller(result.timeout, methodConfig.timeout)
            result.maxRequestMessageBytes = smaller(result.maxRequestMessageBytes, methodConfig.maxRequestMessageBytes)
            result.maxResponseMessageBytes = smaller(result.maxResponseMessageBytes, methodConfig.maxResponseMessageBytes)
        }
        return result
    }

    /// Below the interceptors: serialize, open the stream, enforce the deadline. Calls whose
    /// method config has a retry policy go through `executeWithRetries` (one request) or
    /// `executeStreamingWithRetries`; calls with one request and a hedging policy through
    /// `executeWithHedging`.
    private func execute<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>,
        _ context: ClientContext
    ) async throws -> StreamingClientResponse<Response> {
        let deadline = context.options.effectiveDeadline()
        if let deadline, deadline <= .now {
            throw RPCError(code: .deadlineExceeded, message: "deadline passed before the call started")
        }
        if Task.isCancelled {
            throw RPCError(code: .cancelled, message: "the calling task was cancelled")
        }
        switch context.methodConfig?.executionPolicy {
        case .retry(let retry)?:
            if context.method.kind.hasSingleRequest {
                return try await executeWithRetries(request, context, policy: retry, deadline: deadline)
            }
            return executeStreamingWithRetries(request, context, policy: retry, deadline: deadline)
        case .hedging(let hedging)? where context.method.kind.hasSingleRequest:
            return try await executeWithHedging(request, context, policy: hedging, deadline: deadline)
        case .hedging?, nil:
            // Hedged streaming requests go out as one attempt (see the README).
            break
        }
        let (stream, writer) = try await openAttempt(request.metadata, context, deadline: deadline, Request.self)
        switch context.method.kind {
        case .unary, .serverStreaming:
            // One message fits the stream's buffer: no task needed.
            await Self.produce(request, into: writer, on: stream)
        case .clientStreaming, .bidirectionalStreaming:
            Task { await Self.produce(request, into: writer, on: stream) }
        }
        return Self.response(to: stream, Response.self)
    }

    /// Opens one attempt's stream: reserved metadata stripped, the deadline enforced, the size
    /// limits set, the call's attempt tracer told; returns it with the writer of its requests.
    func openAttempt<Request: SluiceProto.Message>(
        _ requestMetadata: Metadata, _ context: ClientContext, deadline: ContinuousClock.Instant?,
        extraMetadata: Metadata = [:], attempt number: Int = 1, kind: ClientAttemptKind = .original, _ type: Request.Type
    ) async throws -> (ClientStream, MessageWriter<Request>) {
        var metadata = requestMetadata
        for element in metadata where Metadata.isReserved(element.key) { metadata.removeAll(element.key) }
        for element in extraMetadata { metadata.add(element.key, element.value) }
        var head = RequestHead(method: context.method, metadata: metadata, deadline: deadline,
                               compression: context.options.compression)
        head.waitForReady = context.options.waitForReady ?? false
        head.messageFormat = context.options.messageFormat ?? .protobuf
        let traced = context.attemptTracer.map { tracer in
            let attempt = ClientAttempt(number: number, kind: kind, started: .now)
            tracer.attemptStarted(attempt)
            return (tracer, attempt)
        }
        let stream: ClientStream
        do {
            stream = try await transport.openStream(head)
        } catch {
            if let (tracer, attempt) = traced {
                let failure = error as? RPCError ?? RPCError(code: .unavailable, message: "\(error)")
                tracer.attemptEnded(attempt, ClientAttemptEnd(error: failure, statistics: CallStatistics(), ended: .now))
            }
            throw error
        }
        if let (tracer, attempt) = traced { stream.state.trace(attempt, to: tracer) }

        if let deadline {
            let timer = Task {
                try await Task.sleep(until: deadline, clock: .continuous)
                stream.cancel(RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
            }
            Task {
                _ = await stream.end.value
                timer.cancel()
            }
        }

        let state = stream.state
        state.setRequestLimit(context.options.maxRequestMessageBytes)
        state.setReceiveLimit(context.options.maxResponseMessageBytes ?? MessageSizeLimits.defaultMaxReceive)
        state.setMessageFormat(head.messageFormat)
        // The closure captures the call's state object alone, which costs no allocation.
        let writer = MessageWriter<Request>(compressible: { message, compressed in
            try await state.sendRequest(state.messageFormat.serialize(message), compressed: compressed)
        })
        return (stream, writer)
    }

    /// The response side of an opened stream, decoding as it is read.
    static func response<Response: SluiceProto.Message>(
        to stream: ClientStream, _ type: Response.Type, attempts: Int = 1
    ) -> StreamingClientResponse<Response> {
        let state = stream.state
        var response = StreamingClientResponse(
            headers: stream.headers, messages: DecodedMessages<Response>(bytes: stream.messages, observer: state),
            end: stream.end, cancel: { state.fire(RPCError(code: .cancelled, message: "cancelled by the client")) })
        response.state = state
        response.attempts = attempts
        return response
    }

    /// Runs the request producer, then half-closes; a producer that fails cancels the call.
    /// Returns false when the producer failed.
    @discardableResult
    static func produce<Request: Sendable>(
        _ request: StreamingClientRequest<Request>, into writer: MessageWriter<Request>, on stream: ClientStream
    ) async -> Bool {
        do {
            try await request.produce(into: writer)
            stream.requests.finish()
            return true
        } catch let error as RPCError {
            stream.cancel(error)
        } catch is CancellationError {
            // The call ended first; its status says why.
            stream.requests.finish()
            return true
        } catch {
            stream.cancel(RPCError(code: .unknown, message: "request producer failed: \(error)"))
        }
        return false
    }

    // MARK: The four shapes

    /// A unary call.
    public func unary<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor, _ request: Request, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> UnaryResponse<Response> {
        let response: StreamingClientResponse<Response> = try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, single: request), options: options)
        return try await Self.single(response)
    }

    /// A server-streaming call; iterate the result for the responses.
    public func serverStreaming<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor, _ request: Request, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> StreamingResponse<Response> {
        StreamingResponse(try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, single: request), options: options))
    }

    /// A client-streaming call fed from any async sequence.
    public func clientStreaming<Request: SluiceProto.Message, Response: SluiceProto.Message, Requests: AsyncSequence & Sendable>(
        _ method: MethodDescriptor, requests: Requests, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> UnaryResponse<Response> where Requests.Element == Request {
        let response: StreamingClientResponse<Response> = try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, producer: Self.forward(requests)), options: options)
        return try await Self.single(response)
    }

    /// A client-streaming call driven by a writer.
    public func clientStreaming<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> ClientStreamingCall<Request, Response> {
        let channel = RequestChannel<Request>()
        let response: StreamingClientResponse<Response> = try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, producer: channel.producer), options: options)
        let lifetime = CallLifetime(end: response.end, cancel: response.cancel, released: { channel.finish() })
        let result = Task {
            try await withTaskCancellationHandler {
                try await Self.single(response, keepAlive: lifetime)
            } onCancel: {
                response.cancel()
            }
        }
        return ClientStreamingCall(requests: RequestWriter(channel: channel), result: result)
    }

    /// A bidirectional call fed from any async sequence.
    public func bidirectionalStreaming<Request: SluiceProto.Message, Response: SluiceProto.Message, Requests: AsyncSequence & Sendable>(
        _ method: MethodDescriptor, requests: Requests, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> StreamingResponse<Response> where Requests.Element == Request {
        StreamingResponse(try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, producer: Self.forward(requests)), options: options))
    }

    /// A bidirectional call driven by a writer.
    public func bidirectionalStreaming<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor, metadata: Metadata = [:], options: CallOptions = .defaults
    ) async throws -> BidirectionalStreamingCall<Request, Response> {
        let channel = RequestChannel<Request>()
        let response: StreamingClientResponse<Response> = try await streaming(
            method, request: StreamingClientRequest(metadata: metadata, producer: channel.producer), options: options)
        return BidirectionalStreamingCall(requests: RequestWriter(channel: channel),
                                          responses: StreamingResponse(response, released: { channel.finish() }))
    }

    // MARK: Helpers

    private static func forward<Requests: AsyncSequence & Sendable>(
        _ requests: Requests
    ) -> @Sendable (MessageWriter<Requests.Element>) async throws -> Void where Requests.Element: Sendable {
        { writer in
            for try await message in requests { try await writer.write(message) }
        }
    }

    /// Exactly one response message, then the end. A cancelled task ends the call as CANCELLED,
    /// so callers always see an ``RPCError``.
    private static func single<Response: Sendable>(
        _ response: StreamingClientResponse<Response>, keepAlive: CallLifetime? = nil
    ) async throws -> UnaryResponse<Response> {
        do {
            return try await singleMessage(response, keepAlive: keepAlive)
        } catch is CancellationError {
            response.cancel()
            throw RPCError(code: .cancelled, message: "the call was cancelled")
        }
    }

    private static func singleMessage<Response: Sendable>(
        _ response: StreamingClientResponse<Response>, keepAlive: CallLifetime?
    ) async throws -> UnaryResponse<Response> {
        var iterator = response.messages.makeAsyncIterator()
        guard let message = try await iterator.next(isolation: nil) else {
            let end = await response.end.value
            throw end.error ?? RPCError(code: .internal, message: "the server ended the call without a response message")
        }
        if try await iterator.next(isolation: nil) != nil {
            response.cancel()
            throw RPCError(code: .internal, message: "the server sent more than one response message")
        }
        let compressed = response.lastMessageWasCompressed
        let end = await response.end.value
        if let error = end.error { throw error }
        withExtendedLifetime(keepAlive) {}
        var result = UnaryResponse(message: message, headers: await response.headers.value, trailers: end.trailers)
        result.messageWasCompressed = compressed
        result.attempts = response.attempts
        return result
    }
}
