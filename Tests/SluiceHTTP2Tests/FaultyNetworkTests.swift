import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Synchronization
import Testing

/// Takes 20 ms per GetProduct, so that calls are in flight when the network breaks.
struct SlowCatalog: Catalog_ProductService.ServiceProtocol {
    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        try await Task.sleep(for: .milliseconds(20))
        var product = Catalog_Product()
        product.id = request.productID
        return product
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {}

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

/// A real server behind a ``FaultyProxy``; the server's interceptor counts attempts.
private func withProxiedServer<T: Sendable>(
    _ body: (FaultyProxy, FaultInjector) async throws -> T
) async throws -> T {
    let counter = FaultInjector { _ in nil }
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = GRPCServer(transport: transport, services: [SlowCatalog()], interceptors: [counter])
    let serving = Task { try await server.serve() }
    defer { serving.cancel() }
    let port = try #require(try await server.listeningAddress.port)
    let proxy = try await FaultyProxy(upstreamPort: port)
    do {
        let result = try await body(proxy, counter)
        await proxy.close()
        return result
    } catch {
        await proxy.close()
        throw error
    }
}

private func fastBackoff() -> HTTP2ClientTransport.Configuration {
    var configuration = HTTP2ClientTransport.Configuration()
    configuration.backoff.initial = .milliseconds(20)
    configuration.backoff.maximum = .milliseconds(50)
    return configuration
}

@Suite("The channel on a faulty network (a fault-injecting TCP proxy)", .serialized, .timeLimit(.minutes(2)))
struct FaultyNetworkTests {
    @Test("connections reset under load: every call that retries UNAVAILABLE and waits for ready succeeds")
    func resets() async throws {
        try await withProxiedServer { proxy, counter in
            let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(proxy.port)", configuration: fastBackoff())
            // Retries for calls cut off in flight, wait-for-ready for those that start while the
            // connection is down (fail-fast calls would fail then, as gRPC specifies).
            let config = try ServiceConfig(json: """
                {"methodConfig": [{"name": [{"service": "catalog.ProductService"}], "waitForReady": true,
                  "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                                  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
                """)
            let client = GRPCClient(transport: channel, serviceConfig: config)
            let catalog = Catalog_ProductService.Client(wrapping: client)
            // Resets paced by progress rather than the clock, so they land mid-run on a slow machine too.
            let done = Observed(0)
            let resetting = Task {
                for round in 1...4 {
                    try await waitWhile(limit: .seconds(60)) { done.value < round * 24 }
                    proxy.reset()
                }
            }
            let answered = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var answered = 0
                        for call in 0..<30 {
                            let product = try await catalog.getProduct(productRequest("\(worker)-\(call)"),
                                                                       options: CallOptions(timeout: .seconds(30)))
                            if product.id == "\(worker)-\(call)" { answered += 1 }
                            done.update { $0 += 1 }
                        }
                        return answered
                    }
                }
                return try await group.reduce(0, +)
            }
            try await resetting.value
            #expect(answered == 120)
            // Every reset cost the channel its connection, and it connected again each time.
            #expect(proxy.acceptedConnections >= 5, "\(proxy.acceptedConnections) connections")
            #expect(counter.attempts.count >= 120)
            await channel.close()
        }
    }

    @Test("a stalled connection is found dead by keepalive and the call retried on a new one")
    func stall() async throws {
        try await withProxiedServer { proxy, counter in
            var configuration = fastBackoff()
            configuration.keepalive.time = .milliseconds(100)
            configuration.keepalive.timeout = .milliseconds(200)
            let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(proxy.port)", configuration: configuration)
            let client = GRPCClient(transport: channel, serviceConfig: try retryConfig(maxAttempts: 3))
            let catalog = Catalog_ProductService.Client(wrapping: client)
            _ = try await catalog.getProduct(productRequest("warm-up"))
            proxy.stall()
            let started = ContinuousClock.now
            let product = try await catalog.getProduct(productRequest("through"), options: CallOptions(timeout: .seconds(20)))
            let took = ContinuousClock.now - started
            #expect(product.id == "through")
            #expect(took < .seconds(10), "\(took)")
            // The stalled attempt never reached the server; the retry did.
            #expect(counter.attempts.count == 2)
            proxy.resume()
            await channel.close()
        }
    }

    @Test("while connections are refused a fail-fast call fails at once and a wait-for-ready call waits")
    func refused() async throws {
        try await withProxiedServer { proxy, counter in
            proxy.refuseConnections(true)
            let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(proxy.port)", configuration: fastBackoff())
            let client = GRPCClient(transport: channel)
            let catalog = Catalog_ProductService.Client(wrapping: client)
            let error = await #expect(throws: RPCError.self) {
                _ = try await catalog.getProduct(productRequest("fail-fast"), options: CallOptions(timeout: .seconds(10)))
            }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            var options = CallOptions(timeout: .seconds(10))
            options.waitForReady = true
            let waiting = Task { try await catalog.getProduct(productRequest("patient"), options: options) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(counter.attempts.isEmpty)
            proxy.refuseConnections(false)
            #expect(try await waiting.value.id == "patient")
            await channel.close()
        }
    }

    @Test("with an idle timeout the channel closes its connections after no calls, and the next call reconnects")
    func idleTimeout() async throws {
        try await withProxiedServer { proxy, _ in
            let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(proxy.port)", configuration: fastBackoff(),
                                          idleTimeout: .milliseconds(300))
            let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: channel))
            _ = try await catalog.getProduct(productRequest("first"))
            #expect(channel.connectivityState == .ready)
            #expect(proxy.openConnections == 1)
            try await waitWhile(limit: .seconds(10)) { !channel.isIdle }
            #expect(channel.connectivityState == .idle)
            try await waitWhile(limit: .seconds(10)) { proxy.openConnections > 0 }
            // The next call connects again.
            #expect(try await catalog.getProduct(productRequest("again")).id == "again")
            #expect(!channel.isIdle)
            #expect(channel.connectivityState == .ready)
            await channel.close()
        }
    }

    @Test("a call open longer than the idle timeout keeps the channel connected")
    func longCallKeepsChannelConnected() async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [ChatService()])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)", idleTimeout: .milliseconds(200))
        let call = try await Chat_ChatService.Client(wrapping: GRPCClient(transport: channel)).chat()
        var replies = call.responses.makeAsyncIterator()
        var message = Chat_ChatMessage()
        message.text = "hold"
        try await call.requests.send(message)
        #expect(try await replies.next()?.text == "HOLD")
        try await Task.sleep(for: .milliseconds(700))
        #expect(!channel.isIdle)
        try await call.requests.send(message)
        #expect(try await replies.next()?.text == "HOLD")
        call.requests.finish()
        #expect(try await replies.next() == nil)
        try await waitWhile(limit: .seconds(10)) { !channel.isIdle }
        await channel.close()
    }
}
