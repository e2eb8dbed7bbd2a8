import Logging
import Sluice

/// Writes one structured event per client call when it ends: method, target, status,
/// duration, attempts, request and response counts and bytes, trace id, and the request
/// metadata the policy names (keys in ``CallLogKeys``). Successful calls at `level`, failed
/// ones at `errorLevel` (or `level`, if higher), with the status message.
///
///     let client = GRPCClient(transport: channel,
///                             interceptors: [ClientLoggingInterceptor(logger: logger, target: "dns:///orders:50051")])
public struct ClientLoggingInterceptor: ClientInterceptor {
    public var logger: Logger
    public var level: Logger.Level
    public var errorLevel: Logger.Level
    public var metadataPolicy: MetadataLogPolicy
    /// Logged as the peer: the target the client calls.
    public var target: String?
    private let traceIDs: TraceIDLookup

    /// - Parameters:
    ///   - logger: Where the events go.
    ///   - level: The level of a successful call's event; at `debug` with a logger at `info`,
    ///     nothing is written per call.
    ///   - errorLevel: The level of a failed call's event (`warning` by default).
    ///   - metadataPolicy: Which request metadata values to log; none by default.
    ///   - traceIDHeader: A correlation header whose value is the call's trace id (seed 002's
    ///     `x-trace-id`); without it, the trace id of a W3C `traceparent`.
    ///   - target: The client's target, logged as the peer.
    public init(logger: Logger, level: Logger.Level = .info, errorLevel: Logger.Level = .warning,
                metadataPolicy: MetadataLogPolicy = MetadataLogPolicy(), traceIDHeader: String? = "x-trace-id",
                target: String? = nil) {
        self.logger = logger
        self.level = level
        self.errorLevel = errorLevel
        self.metadataPolicy = metadataPolicy
        self.traceIDs = TraceIDLookup(header: traceIDHeader?.lowercased())
        self.target = target
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let (logger, level, errorLevel) = (self.logger, self.level, self.errorLevel)
        // A logger that drops both levels gets nothing built for it, per call or at its end.
        guard max(level, errorLevel) >= logger.logLevel else { return try await next(request, context) }
        let (started, metadata, traceIDs, metadataPolicy, target) = (ContinuousClock.now, request.metadata, self.traceIDs,
                                                                     self.metadataPolicy, self.target)
        let method = context.method
        return try await observeClientCall(request, context, next) { outcome in
            guard (outcome.error == nil ? level : max(errorLevel, level)) >= logger.logLevel else { return }
            let event = CallLogEvent(method: method, side: "client", peer: target, started: started, error: outcome.error,
                                     attempts: outcome.attempts, requestMessages: outcome.statistics.messagesSent,
                                     requestBytes: outcome.statistics.bytesSent,
                                     responseMessages: outcome.statistics.messagesReceived,
                                     responseBytes: outcome.statistics.bytesReceived, traceID: traceIDs.traceID(in: metadata),
                                     metadata: metadataPolicy.fields(for: metadata))
            event.write(to: logger, level: level, errorLevel: errorLevel)
        }
    }
}
