import Logging
import Sluice

/// Writes one structured event per server call when its handler is done: method, peer,
/// status, duration, request and response counts and bytes, trace id, and the request
/// metadata the policy names (keys in ``CallLogKeys``). Successful calls at `level`, failed
/// ones at `errorLevel` (or `level`, if higher), with the status message.
///
///     let server = GRPCServer(transport: transport, services: services,
///                             interceptors: [ServerLoggingInterceptor(logger: logger)])
public struct ServerLoggingInterceptor: ServerInterceptor {
    public var logger: Logger
    public var level: Logger.Level
    public var errorLevel: Logger.Level
    public var metadataPolicy: MetadataLogPolicy
    private let traceIDs: TraceIDLookup

    /// - Parameters:
    ///   - logger: Where the events go.
    ///   - level: The level of a successful call's event.
    ///   - errorLevel: The level of a failed call's event (`warning` by default).
    ///   - metadataPolicy: Which request metadata values to log; none by default.
    ///   - traceIDHeader: A correlation header whose value is the call's trace id; without it,
    ///     the trace id of a W3C `traceparent`.
    public init(logger: Logger, level: Logger.Level = .info, errorLevel: Logger.Level = .warning,
                metadataPolicy: MetadataLogPolicy = MetadataLogPolicy(), traceIDHeader: String? = "x-trace-id") {
        self.logger = logger
        self.level = level
        self.errorLevel = errorLevel
        self.metadataPolicy = metadataPolicy
        self.traceIDs = TraceIDLookup(header: traceIDHeader?.lowercased())
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let (logger, level, errorLevel) = (self.logger, self.level, self.errorLevel)
        // A logger that drops both levels gets nothing built for it, per call or at its end.
        guard max(level, errorLevel) >= logger.logLevel else { return try await next(request, context) }
        let (started, metadata, traceIDs, metadataPolicy) = (ContinuousClock.now, request.metadata, self.traceIDs, self.metadataPolicy)
        return try await observeServerCall(request, context, next) { error in
            guard (error == nil ? level : max(errorLevel, level)) >= logger.logLevel else { return }
            let statistics = context.statistics
            // What the server sent are the call's responses.
            let event = CallLogEvent(method: context.method, side: "server", peer: context.peer, started: started, error: error,
                                     attempts: nil, requestMessages: statistics.messagesReceived,
                                     requestBytes: statistics.bytesReceived, responseMessages: statistics.messagesSent,
                                     responseBytes: statistics.bytesSent, traceID: traceIDs.traceID(in: metadata),
                                     metadata: metadataPolicy.fields(for: metadata))
            event.write(to: logger, level: level, errorLevel: errorLevel)
        }
    }
}
