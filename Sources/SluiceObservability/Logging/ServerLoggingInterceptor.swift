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
        let event = CallLogEvent(method: context.method, side: "server", peer: context.peer, started: .now, error: nil,
                                 attempts: nil, requestMessages: 0, requestBytes: 0, responseMessages: 0, responseBytes: 0,
                                 traceID: traceIDs.traceID(in: request.metadata),
                                 metadata: metadataPolicy.fields(for: request.metadata))
        let (logger, level, errorLevel) = (self.logger, self.level, self.errorLevel)
        return try await observeServerCall(request, context, next) { error in
            var event = event
            let statistics = context.statistics
            event.error = error
            // What the server sent are the call's responses.
            event.requestMessages = statistics.messagesReceived
            event.requestBytes = statistics.bytesReceived
            event.responseMessages = statistics.messagesSent
            event.responseBytes = statistics.bytesSent
            event.write(to: logger, level: level, errorLevel: errorLevel)
        }
    }
}
