import SeedServices
import Sluice
import SluiceProto
import SluiceTestSupport
import Testing

@Suite("Server lifecycle on the in-process transport", .timeLimit(.minutes(1)))
struct ServerLifecycleTests {
    @Test("a call made before serve() starts waits for the server instead of failing")
    func callBeforeServing() async throws {
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverTransport, services: [CatalogService()])
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: clientTransport))
        var request = Catalog_GetProductRequest()
        request.productID = "7"
        let call = Task { try await catalog.getProduct(request).id }
        // The call is already waiting when the server starts.
        try await Task.sleep(for: .milliseconds(50))
        let serving = Task { try await server.serve() }
        #expect(try await call.value == "7")
        server.beginGracefulShutdown()
        try await serving.value
    }

    @Test("listeningAddress resolves once the server listens")
    func listening() async throws {
        let (_, serverTransport) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverTransport, services: [CatalogService()])
        let serving = Task { try await server.serve() }
        #expect(try await server.listeningAddress == .inProcess)
        server.beginGracefulShutdown()
        try await serving.value
    }

    @Test("a waiting call fails by its deadline, or with UNAVAILABLE when the server shuts down unstarted")
    func waitingCallEnds() async throws {
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: clientTransport))
        var options = CallOptions.defaults
        options.timeout = .milliseconds(100)
        await #expect(throws: RPCError.self) {
            do {
                _ = try await catalog.getProduct(Catalog_GetProductRequest(), options: options)
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
                throw error
            }
        }
        let waiting = Task { try await catalog.getProduct(Catalog_GetProductRequest()) }
        try await Task.sleep(for: .milliseconds(20))
        serverTransport.beginGracefulShutdown()
        await #expect(throws: RPCError(code: .unavailable, message: "the in-process server has shut down")) {
            _ = try await waiting.value
        }
        await #expect(throws: RPCError.self) { _ = try await serverTransport.listeningAddress }
    }

    @Test("cancelling serve() drains calls in flight within the grace period")
    func cancelDrains() async throws {
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverTransport, services: [CatalogService()], shutdownGracePeriod: .seconds(30))
        let serving = Task { try await server.serve() }
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: clientTransport))
        var request = Catalog_ListProductsRequest()
        request.limit = 3
        let stream = try await catalog.listProducts(request)
        serving.cancel()
        // The call started before the cancellation runs to its end.
        var ids: [String] = []
        for try await product in stream { ids.append(product.id) }
        #expect(ids == ["p0", "p1", "p2"])
        try await serving.value
        // New calls are refused.
        await #expect(throws: RPCError.self) { _ = try await catalog.getProduct(Catalog_GetProductRequest()) }
    }

    @Test("cancelling serve() cancels calls still running after the grace period, and serve() returns")
    func cancelForces() async throws {
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let service = StallingCatalog()
        let server = GRPCServer(transport: serverTransport, services: [service], shutdownGracePeriod: .milliseconds(200))
        let serving = Task { try await server.serve() }
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: clientTransport))
        let call = Task { try await catalog.getProduct(Catalog_GetProductRequest()) }
        try await waitWhile { service.started.value == 0 }
        let cancelledAt = ContinuousClock.now
        serving.cancel()
        try await serving.value
        let took = ContinuousClock.now - cancelledAt
        #expect(took >= .milliseconds(200), "forced before the grace period: \(took)")
        #expect(took < .seconds(5))
        #expect(service.cancelled.value == 1)
        await #expect(throws: RPCError.self) { _ = try await call.value }
    }

    @Test("withGRPCClient closes the client after the body; run() ends on cancellation")
    func clientLifetime() async throws {
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverTransport, services: [CatalogService()])
        let serving = Task { try await server.serve() }
        var request = Catalog_GetProductRequest()
        request.productID = "1"
        let id = try await withGRPCClient(transport: clientTransport) { client in
            try await Catalog_ProductService.Client(wrapping: client).getProduct(request).id
        }
        #expect(id == "1")
        let client = GRPCClient(transport: clientTransport)
        let running = Task { await client.run() }
        running.cancel()
        await running.value
        server.beginGracefulShutdown()
        try await serving.value
    }
}
