import Sluice
import Tracing

/// A client span per call, named `package.Service/Method`, with OpenTelemetry's RPC
/// attributes (`rpc.system` = `grpc`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`,
/// and the server's address and port when given); the span's context goes to the server in
/// the request metadata through the tracer's propagation (W3C `traceparent` with
/// swift-otel), and its parent is the task's `ServiceContext` (a server handler's span, when
/// the call is made while handling one).
public struct ClientTracingInterceptor: ClientInterceptor {
    private let tracer: any Tracer
    private let serverAddress: String?
    private let serverPort: Int?
    /// Whether each message sent and received becomes a span event (those received are added
    /// when the call ends).
    public var recordsMessageEvents: Bool

    /// - Parameters:
    ///   - tracer: The tracer; by default the one bootstrapped in `InstrumentationSystem`.
    ///   - serverAddress: `server.address` on each span (the host of the target).
    ///   - serverPort: `server.port` on each span.
    ///   - recordsMessageEvents: Adds a span event per request sent and response received.
    public init(tracer: any Tracer = InstrumentationSystem.tracer, serverAddress: String? = nil, serverPort: Int? = nil,
                recordsMessageEvents: Bool = false) {
        self.tracer = tracer
        self.serverAddress = serverAddress
        self.serverPort = serverPort
        self.recordsMessageEvents = recordsMessageEvents
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let parent = ServiceContext.current ?? .topLevel
        let span = tracer.startAnySpan("\(context.method.service)/\(context.method.method)", context: parent, ofKind: .client)
        RPCSpanAttributes.set(on: span, method: context.method)
        if let serverAddress { span.attributes["server.address"] = serverAddress }
        if let serverPort { span.attributes["server.port"] = serverPort }
        var request = request
        tracer.inject(span.context, into: &request.metadata, using: MetadataInjector())
        if recordsMessageEvents {
            let producer = request.producer
            request.producer = { writer in
                try await producer(MessageWriter(compressible: { message, compressed in
                    try await writer.write(message, compressed: compressed)
                    span.addEvent(SpanEvent(name: "message sent"))
                }))
            }
        }
        let response: StreamingClientResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            RPCSpanAttributes.end(span, error: error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
            throw error
        }
        let recordsMessages = recordsMessageEvents
        response.end.whenSet { end in
            // One event per response the transport delivered, added as the call ends: the span
            // must end with the call, and the caller may read its responses later.
            if recordsMessages {
                for _ in 0..<response.statistics.messagesReceived { span.addEvent(SpanEvent(name: "message received")) }
            }
            RPCSpanAttributes.end(span, error: end.error)
        }
        return response
    }
}

/// The RPC semantic-convention attributes both sides set.
enum RPCSpanAttributes {
    static func set(on span: any Span, method: MethodDescriptor) {
        span.attributes["rpc.system"] = "grpc"
        span.attributes["rpc.service"] = method.service
        span.attributes["rpc.method"] = method.method
    }

    /// Records the status and ends the span.
    static func end(_ span: any Span, error: RPCError?) {
        span.attributes["rpc.grpc.status_code"] = Int(error?.code.rawValue ?? 0)
        if let error {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: error.message))
        }
        span.end()
    }
}

