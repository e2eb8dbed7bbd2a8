import Sluice
import Tracing

/// A server span per call, named `package.Service/Method`, whose parent is the caller's span
/// (extracted from the request metadata through the tracer's propagation), with
/// OpenTelemetry's RPC attributes. The handler runs with the span's context as the task's
/// `ServiceContext`, so the calls it makes (through ``ClientTracingInterceptor``) are its
/// children, and so do its own spans.
public struct ServerTracingInterceptor: ServerInterceptor {
    private let tracer: any Tracer

    /// - Parameter tracer: The tracer; by default the one bootstrapped in
    ///   `InstrumentationSystem`.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(request.metadata, into: &parent, using: MetadataExtractor())
        let span = tracer.startAnySpan("\(context.method.service)/\(context.method.method)", context: parent, ofKind: .server)
        RPCSpanAttributes.set(on: span, method: context.method)
        span.attributes["client.address"] = context.peer
        let spanContext = span.context
        let response = try await ServiceContext.withValue(spanContext) {
            try await observeServerCall(request, context, next) { error in RPCSpanAttributes.end(span, error: error) }
        }
        var traced = response
        traced.producer = { writer in
            try await ServiceContext.withValue(spanContext) { try await response.producer(writer) }
        }
        return traced
    }
}
