import SluiceProto

/// A service a server can host. Generated service protocols conform and register a handler
/// per method.
public protocol RegistrableService: Sendable {
    /// Registers a handler for each of the service's methods.
    func registerMethods(with router: inout RPCRouter)

    /// The `.proto` file that defines the service, which server reflection describes it by.
    /// Generated services return theirs; a hand-written service has none unless it says so.
    var fileDescriptor: ProtoFileDescriptor? { get }

    /// How the service's methods are served over HTTP/JSON, from their `google.api.http`
    /// options; generated services return theirs, for ``RESTTranscoder``.
    var httpBindings: [HTTPBinding] { get }
}

extension RegistrableService {
    /// No descriptor: reflection lists the service's name but cannot describe it.
    public var fileDescriptor: ProtoFileDescriptor? { nil }

    /// No HTTP bindings: the service is served over gRPC only.
    public var httpBindings: [HTTPBinding] { [] }
}

/// Maps method paths to handlers.
public struct RPCRouter: Sendable {
    struct Route: Sendable {
        let method: MethodDescriptor
        let handle: @Sendable (ServerStream, ServerContext, [any ServerInterceptor]) async throws -> Void
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    /// The methods registered, for reflection and tests.
    public var methods: [MethodDescriptor] { routes.values.map(\.method) }

    /// Registers `handler` for `method`; a later registration of the same path replaces it.
    public mutating func register<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ method: MethodDescriptor,
        handler: @escaping @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response>
    ) {
        routes[method.fullPath] = Route(method: method) { stream, context, interceptors in
            let request = StreamingServerRequest<Request>(
                metadata: context.metadata,
                messages: DecodedMessages<Request>(bytes: stream.requests, observer: context.call))
            let response = try await ServerEngine.run(request, context, interceptors[...], handler)
            try await ServerEngine.write(response, context: context, to: stream.responses)
        }
    }

    func route(for path: String) -> Route? {
        routes[path]
    }
}

/// Adapts the four handler shapes of generated service protocols to the streaming shape.
public enum ServerHandlers {
    public static func unary<Request: Sendable, Response: Sendable>(
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response> {
        { request, context in
            let message = try await exactlyOne(request.messages)
            let response = try await body(message, context)
            return StreamingServerResponse { writer in
                try await writer.write(response)
                return [:]
            }
        }
    }

    public static func clientStreaming<Request: Sendable, Response: Sendable>(
        _ body: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) -> @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response> {
        { request, context in
            let response = try await body(RequestStream(request.messages), context)
            return StreamingServerResponse { writer in
                try await writer.write(response)
                return [:]
            }
        }
    }

    public static func serverStreaming<Request: Sendable, Response: Sendable>(
        _ body: @escaping @Sendable (Request, MessageWriter<Response>, ServerContext) async throws -> Void
    ) -> @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response> {
        { request, context in
            let message = try await exactlyOne(request.messages)
            return StreamingServerResponse { writer in
                try await body(message, writer, context)
                return [:]
            }
        }
    }

    public static func bidirectionalStreaming<Request: Sendable, Response: Sendable>(
        _ body: @escaping @Sendable (RequestStream<Request>, MessageWriter<Response>, ServerContext) async throws -> Void
    ) -> @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response> {
        { request, context in
            StreamingServerResponse { writer in
                try await body(RequestStream(request.messages), writer, context)
                return [:]
            }
        }
    }

    /// The one request message of a unary or server-streaming call.
    static func exactlyOne<Request>(_ messages: any AsyncSequence<Request, any Error>) async throws -> Request {
        var iterator = messages.makeAsyncIterator()
        guard let message = try await iterator.next(isolation: nil) else {
            throw RPCError(code: .internal, message: "the client half-closed without a request message")
        }
        if try await iterator.next(isolation: nil) != nil {
            throw RPCError(code: .internal, message: "the client sent more than one request message")
        }
        return message
    }
}

/// The request messages of a streaming call, as a handler reads them.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    let base: any AsyncSequence<Message, any Error> & Sendable

    public init(_ base: any AsyncSequence<Message, any Error> & Sendable) {
        self.base = base
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: any AsyncIteratorProtocol<Message, any Error>

        public mutating func next() async throws -> Message? {
            try await base.next(isolation: nil)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}
