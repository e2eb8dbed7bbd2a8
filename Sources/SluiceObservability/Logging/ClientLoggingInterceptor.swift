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
        let event = CallLogEvent(method: context.method, side: "client", peer: target, started: .now, error: nil,
                                 attempts: nil, requestMessages: 0, requestBytes: 0, responseMessages: 0, responseBytes: 0,
                                 traceID: traceIDs.traceID(in: request.metadata),
                                 metadata: metadataPolicy.fields(for: request.metadata))
        let (logger, level, errorLevel) = (self.logger, self.level, self.errorLevel)
        return try await observeClientCall(request, context, next) { outcome in
            var event = event
            event.error = outcome.error
            event.attempts = outcome.attempts
            event.requestMessages = outcome.statistics.messagesSent
            event.requestBytes = outcome.statistics.bytesSent
            event.responseMessages = outcome.statistics.messagesReceived
            event.responseBytes = outcome.statistics.bytesReceived
            event.write(to: logger, level: level, errorLevel: errorLevel)
        }
    }
}
