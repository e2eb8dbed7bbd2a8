import Sluice

/// Seed 002's request correlation: an id in a header (`x-trace-id` by default) that crosses
/// every hop of a call chain with no code in the caller. The server interceptor takes the
/// incoming id (or makes one) and runs the handler with it as ``current``; the client
/// interceptor puts ``current`` (or a new id) on every outgoing call; the logging
/// interceptors log it as `grpc.trace_id`.
public enum CorrelationID {
    /// The id of the call being handled in this task, if any.
    @TaskLocal public static var current: String?

    /// A new id: 32 lowercase hex digits, the form of a W3C trace id.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Puts the task's correlation id (or a new one) on each outgoing call that has none.
public struct ClientCorrelationInterceptor: ClientInterceptor {
    /// The header, lowercase.
    public let header: String

    public init(header: String = "x-trace-id") {
        self.header = header.lowercased()
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        guard request.metadata[header].isEmpty else { return try await next(request, context) }
        var request = request
        request.metadata.add(header, .string(CorrelationID.current ?? CorrelationID.make()))
        return try await next(request, context)
    }
}

/// Runs each handler with the incoming call's correlation id (or a new one, for a call that
/// came without) as ``CorrelationID/current``, so the calls it makes carry it on.
public struct ServerCorrelationInterceptor: ServerInterceptor {
    /// The header, lowercase.
    public let header: String

    public init(header: String = "x-trace-id") {
        self.header = header.lowercased()
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let id: String
        if case .string(let incoming)? = request.metadata[header].first, !incoming.isEmpty {
            id = incoming
        } else {
            id = CorrelationID.make()
        }
        let response = try await CorrelationID.$current.withValue(id) { try await next(request, context) }
        var correlated = response
        correlated.producer = { writer in
            try await CorrelationID.$current.withValue(id) { try await response.producer(writer) }
        }
        return correlated
    }
}
