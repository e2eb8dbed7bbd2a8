import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

@Suite("Server shutdown over HTTP/2", .timeLimit(.minutes(1)))
struct ServerShutdownTests {
    @Test("listeningAddress names the bound loopback port; a Unix socket its path")
    func listeningAddress() async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [StallingCatalog()])
        let serving = Task { try await server.serve() }
        let address = try await server.listeningAddress
        guard case .ipv4(host: "127.0.0.1", let port) = address else {
            Issue.record("expected an IPv4 loopback address, got \(address)")
            return
        }
        #expect(port > 0)
        #expect(address.description == "ipv4:127.0.0.1:\(port)")
        serving.cancel()
        try await serving.value

        let path = "/tmp/sluice-listen-\(UInt32.random(in: 0 ... .max)).sock"
        let unix = HTTP2ServerTransport(target: .unixDomainSocket(path))
        let unixServer = GRPCServer(transport: unix, services: [StallingCatalog()])
        let unixServing = Task { try await unixServer.serve() }
        #expect(try await unixServer.listeningAddress == .unixDomainSocket(path: path))
        unixServing.cancel()
        try await unixServing.value
    }

    @Test("a server that cannot bind reports why through listeningAddress and serve()")
    func bindFailure() async throws {
        let first = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let firstServer = GRPCServer(transport: first, services: [])
        let firstServing = Task { try await firstServer.serve() }
        let port = try #require(try await first.listeningAddress.port)
        // SO_REUSEADDR does not let two listeners share a port.
        let second = HTTP2ServerTransport(target: .host("127.0.0.1", port: port))
        let secondServer = GRPCServer(transport: second, services: [])
        let secondServing = Task { try await secondServer.serve() }
        await #expect(throws: (any Error).self) { _ = try await secondServer.listeningAddress }
        await #expect(throws: (any Error).self) { try await secondServing.value }
        firstServing.cancel()
        try await firstServing.value
    }

    @Test("cancelling serve() lets a streaming call finish, then refuses new connections")
    func gracefulOnCancel() async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [StallingCatalog()], shutdownGracePeriod: .seconds(30))
        let serving = Task { try await server.serve() }
        let port = try #require(try await server.listeningAddress.port)
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        let catalog = Catalog_ProductService.Client(wrapping: client)
        var request = Catalog_ListProductsRequest()
        request.limit = 5
        let stream = try await catalog.listProducts(request)
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next()?.id == "p0")
        serving.cancel()
        var rest: [String] = []
        while let product = try await iterator.next() { rest.append(product.id) }
        #expect(rest == ["p1", "p2", "p3", "p4"])
        try await serving.value
        await client.close()
    }

    @Test("cancelling serve() cancels handlers still running after the grace period")
    func forcedAfterGrace() async throws {
        let service = StallingCatalog()
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [service], shutdownGracePeriod: .milliseconds(300))
        let serving = Task { try await server.serve() }
        let port = try #require(try await server.listeningAddress.port)
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        let call = Task { try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest()) }
        try await waitWhile { service.started.value == 0 }
        let cancelledAt = ContinuousClock.now
        serving.cancel()
        try await serving.value
        let took = ContinuousClock.now - cancelledAt
        #expect(took >= .milliseconds(300), "forced before the grace period: \(took)")
        #expect(service.cancelled.value == 1)
        await #expect(throws: RPCError.self) { _ = try await call.value }
        await client.close()
    }
}
