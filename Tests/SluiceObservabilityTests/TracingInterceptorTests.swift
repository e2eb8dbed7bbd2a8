import InMemoryTracing
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceTestSupport
import Testing
import Tracing

/// Service A: answers GetProduct by calling service B's GetUser, through a client that
/// traces its calls, so that B's span must be a grandchild of A's.
struct ChainingCatalog: Catalog_ProductService.ServiceProtocol {
    let users: Venta_User_UserService.Client

    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        var lookup = Venta_User_GetUserRequest()
        lookup.id = "123"
        let user = try await users.getUser(lookup)
        var product = Catalog_Product()
        product.id = request.productID
        product.name = user.name
        return product
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {}

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

/// Transports for one hop of the chain.
enum Hop: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case http2 = "HTTP/2"
    case inProcess = "in process"

    var testDescription: String { rawValue }

    /// Serves `services` and returns a client transport to them, with the server's task.
    func serve(_ services: [any RegistrableService], interceptors: [any ServerInterceptor])
        async throws -> (any ClientTransport, Task<Void, any Error>) {
        switch self {
        case .http2:
            let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
            let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
            let task = Task { try await server.serve() }
            let port = try await server.listeningAddress.port ?? 0
            return (try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)), task)
        case .inProcess:
            let (client, serverTransport) = InProcessTransport.makePair()
            let server = GRPCServer(transport: serverTransport, services: services, interceptors: interceptors)
            let task = Task { try await server.serve() }
            _ = try await server.listeningAddress
            return (client, task)
        }
    }
}

@Suite("Tracing interceptors: one trace across a call chain", .timeLimit(.minutes(1)))
struct TracingInterceptorTests {
    @Test("client -> service A -> service B: four spans in one trace, each the child of the one before", arguments: Hop.allCases)
    func chain(hop: Hop) async throws {
        let tracer = InMemoryTracer()
        let (toB, serverB) = try await hop.serve([UserService()], interceptors: [ServerTracingInterceptor(tracer: tracer)])
        let users = Venta_User_UserService.Client(wrapping: GRPCClient(
            transport: toB, interceptors: [ClientTracingInterceptor(tracer: tracer, serverAddress: "127.0.0.1")]))
        let (toA, serverA) = try await hop.serve([ChainingCatalog(users: users)],
                                                 interceptors: [ServerTracingInterceptor(tracer: tracer)])
        defer {
            serverA.cancel()
            serverB.cancel()
        }
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(
            transport: toA, interceptors: [ClientTracingInterceptor(tracer: tracer, recordsMessageEvents: true)]))
        var request = Catalog_GetProductRequest()
        request.productID = "p1"
        #expect(try await catalog.getProduct(request).name == "John Doe")
        try await waitWhile { tracer.finishedSpans.count < 4 }

        let spans = tracer.finishedSpans
        func span(_ name: String, _ kind: SpanKind) throws -> FinishedInMemorySpan {
            try #require(spans.first { $0.operationName == name && $0.kind == kind }, "no \(kind) span \(name) in \(spans.map(\.operationName))")
        }
        let clientA = try span("catalog.ProductService/GetProduct", .client)
        let serverASpan = try span("catalog.ProductService/GetProduct", .server)
        let clientB = try span("venta.user.UserService/GetUser", .client)
        let serverBSpan = try span("venta.user.UserService/GetUser", .server)
        #expect(Set(spans.map(\.traceID)).count == 1)
        #expect(clientA.parentSpanID == nil)
        #expect(serverASpan.parentSpanID == clientA.spanContext.spanID)
        #expect(clientB.parentSpanID == serverASpan.spanContext.spanID)
        #expect(serverBSpan.parentSpanID == clientB.spanContext.spanID)
        for finished in spans {
            #expect(finished.attributes["rpc.system"]?.toSpanAttribute() == "grpc")
            #expect(finished.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == 0)
        }
        #expect(serverBSpan.attributes["rpc.service"]?.toSpanAttribute() == "venta.user.UserService")
        #expect(serverBSpan.attributes["rpc.method"]?.toSpanAttribute() == "GetUser")
        #expect(clientB.attributes["server.address"]?.toSpanAttribute() == "127.0.0.1")
        // Message events, where asked for.
        #expect(clientA.events.map(\.name) == ["message sent", "message received"])
    }

    @Test("a failed call's spans record the error and its status code")
    func failure() async throws {
        let tracer = InMemoryTracer()
        let (transport, server) = try await Hop.http2.serve([UserService()], interceptors: [ServerTracingInterceptor(tracer: tracer)])
        defer { server.cancel() }
        let users = Venta_User_UserService.Client(wrapping: GRPCClient(
            transport: transport, interceptors: [ClientTracingInterceptor(tracer: tracer)]))
        var request = Venta_User_GetUserRequest()
        request.id = "unknown"
        await #expect(throws: RPCError.self) { _ = try await users.getUser(request) }
        try await waitWhile { tracer.finishedSpans.count < 2 }
        for finished in tracer.finishedSpans {
            #expect(finished.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == 5, "NOT_FOUND")
            #expect(finished.errors.count == 1)
            #expect(finished.status?.code == .error)
        }
    }
}

/// Records the correlation id each handler saw, and calls on to B.
struct CorrelationRecordingCatalog: Catalog_ProductService.ServiceProtocol {
    let users: Venta_User_UserService.Client
    let seen = Observed<[String?]>([])

    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        seen.update { $0.append(CorrelationID.current) }
        var lookup = Venta_User_GetUserRequest()
        lookup.id = "123"
        _ = try await users.getUser(lookup)
        return Catalog_Product()
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {}

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

@Suite("Correlation ids across a call chain (seed 002)", .timeLimit(.minutes(1)))
struct CorrelationTests {
    @Test("an id made at the client reaches B through A with no code in A, and every hop logs it")
    func chain() async throws {
        let logs = LogRecorder()
        let userService = UserService()
        let (toB, serverB) = try await Hop.http2.serve(
            [userService], interceptors: [ServerCorrelationInterceptor(), ServerLoggingInterceptor(logger: logs.logger(label: "B"))])
        let users = Venta_User_UserService.Client(wrapping: GRPCClient(transport: toB, interceptors: [ClientCorrelationInterceptor()]))
        let catalogService = CorrelationRecordingCatalog(users: users)
        let (toA, serverA) = try await Hop.http2.serve(
            [catalogService], interceptors: [ServerCorrelationInterceptor(), ServerLoggingInterceptor(logger: logs.logger(label: "A"))])
        defer {
            serverA.cancel()
            serverB.cancel()
        }
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: toA, interceptors: [ClientCorrelationInterceptor()]))
        _ = try await catalog.getProduct(Catalog_GetProductRequest())
        _ = try await catalog.getProduct(Catalog_GetProductRequest())
        try await waitWhile { logs.all.count < 4 }

        let ids = catalogService.seen.value.compactMap { $0 }
        #expect(ids.count == 2)
        #expect(Set(ids).count == 2, "each call from the client starts a chain of its own")
        #expect(ids.allSatisfy { $0.count == 32 })
        // B saw A's id, and each hop logged it.
        let reachedB = userService.seen.value.compactMap { metadata -> String? in
            if case .string(let id)? = metadata["x-trace-id"].first { return id }
            return nil
        }
        #expect(reachedB == ids)
        let logged = logs.all.compactMap { $0.metadata[CallLogKeys.traceID].map { "\($0)" } }
        #expect(Set(logged) == Set(ids))
        #expect(logged.count == 4)
    }
}
