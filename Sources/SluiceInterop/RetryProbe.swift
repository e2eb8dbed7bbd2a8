import Sluice

/// A server interceptor for cross-checking clients' retries (gRFC A6) against one server:
/// a call whose metadata has `x-fail-attempts: N` fails its first N attempts (counted by
/// `grpc-previous-rpc-attempts`) with UNAVAILABLE before its handler runs, a Trailers-Only
/// response as a shedding server sends; `x-pushback-ms: M` adds `grpc-retry-pushback-ms` to
/// those failures. Every attempt's trailers carry `x-attempt` (1-based), so a client reports
/// how many attempts its call took whatever the outcome.
public struct RetryProbeInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let failing = Self.integer(request.metadata, "x-fail-attempts") else { return try await next(request, context) }
        let attempt = (Self.integer(request.metadata, "grpc-previous-rpc-attempts") ?? 0) + 1
        if attempt <= failing {
            var trailers: Metadata = ["x-attempt": .string("\(attempt)")]
            if let pushback = request.metadata["x-pushback-ms"].first { trailers.add("grpc-retry-pushback-ms", pushback) }
            throw RPCError(code: .unavailable, message: "failing attempt \(attempt) of \(failing) on purpose", metadata: trailers)
        }
        context.addTrailer("x-attempt", .string("\(attempt)"))
        return try await next(request, context)
    }

    private static func integer(_ metadata: Metadata, _ key: String) -> Int? {
        guard case .string(let text)? = metadata[key].first else { return nil }
        return Int(text)
    }
}
