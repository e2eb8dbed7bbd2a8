import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Synchronization
import Testing

/// Answers with its name; every `slowEvery`-th call first sleeps 10 s (and counts it if
/// cancelled meanwhile).
final class SometimesSlowCatalog: Catalog_ProductService.ServiceProtocol {
    let name: String
    let slowEvery: Int
    private let calls = Mutex(0)
    let cancelledWhileSlow = Observed(0)
    let slowCalls = Observed(0)

    init(name: String, slowEvery: Int) {
        self.name = name
        self.slowEvery = slowEvery
    }

    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        let count = calls.withLock { count in
            count += 1
            return count
        }
        if slowEvery > 0 && count % slowEvery == 0 {
            slowCalls.update { $0 += 1 }
            do {
                // Long enough that the losing attempt's RST_STREAM arrives first even on a
                // machine kept busy (at 500 ms, one slow call in a CI run finished first), and
                // far from the bound below that tells a hedged call from one that waited.
                try await Task.sleep(for: .seconds(10))
            } catch {
                cancelledWhileSlow.update { $0 += 1 }
                throw error
            }
        }
        var product = Catalog_Product()
        product.name = name
        return product
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {}

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

func hedgingConfig(delay: String, nonFatal: String = #""UNAVAILABLE""#) throws -> ServiceConfig {
    try ServiceConfig(json: """
        {
         "methodConfig": [{"name": [{"service": "catalog.ProductService"}],
           "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "\(delay)", "nonFatalStatusCodes": [\(nonFatal)]}}]}
        """)
}

@Suite("Hedging over HTTP/2 (gRFC A6)", .serialized, .timeLimit(.minutes(2)))
struct HedgingTests {
    @Test("with a server slowing every tenth call it gets by 10 s and a 20 ms hedging delay, no call is slow, and each losing attempt is cancelled on the server")
    func hedgesAroundSlowCalls() async throws {
        // One server, so that it gets every first attempt whatever the load: with two behind
        // round_robin, a loaded machine hedges every call, each call takes two picks, and the
        // first attempts can all land on the same server. A hedge arrives as the server's
        // next call, which is not a tenth one, so it wins.
        let slow = SometimesSlowCatalog(name: "sometimes-slow", slowEvery: 10)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [slow])
        let serving = Task { try await server.serve() }
        let port = try await server.listeningAddress.port ?? 0
        let config = try hedgingConfig(delay: "0.02s")
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)", defaultServiceConfig: config)
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: channel, serviceConfig: config))
        try await waitWhile(limit: .seconds(30)) { channel.subchannelStates.first?.state != .ready }
        for _ in 0..<10 { _ = try await catalog.getProduct(Catalog_GetProductRequest()) }
        var slowest = Duration.zero
        var hedged = 0
        for _ in 0..<100 {
            let started = ContinuousClock.now
            let response = try await catalog.getProduct(Catalog_GetProductRequest())
            slowest = max(slowest, ContinuousClock.now - started)
            if response.attempts > 1 { hedged += 1 }
        }
        #expect(slow.slowCalls.value > 0)
        // No call waited out the slow server's 10 s: each was answered by a hedge. (The
        // spec's figure is ~100 ms; CI's 2 cores are kept busy beside the rest of the suite,
        // where one call was seen to stall for 1.4 s, so the bound is what tells a hedged call
        // from one that waited, not a latency target.)
        #expect(slowest < .seconds(5), "slowest call took \(slowest)")
        #expect(hedged > 0)
        try await waitWhile { slow.cancelledWhileSlow.value < slow.slowCalls.value }
        #expect(slow.cancelledWhileSlow.value == slow.slowCalls.value)
        await channel.close()
        serving.cancel()
    }

    @Test("a non-fatal failure sends the next hedge at once; a fatal status ends the call at once")
    func fatalAndNonFatal() async throws {
        let faults = FaultInjector { index in
            switch index {
            case 0: return RPCError(code: .unavailable, message: "non-fatal")
            case 2: return RPCError(code: .permissionDenied, message: "fatal")
            default: return nil
            }
        }
        // A long delay: a second attempt within it can only be the non-fatal shortcut.
        let config = try hedgingConfig(delay: "30s")
        try await withRetryingClient(faults, config: config) { catalog in
            let started = ContinuousClock.now
            let response = try await catalog.getProduct(productRequest("1"))
            #expect(response.attempts == 2)
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(faults.attempts.map(\.previousAttempts) == [nil, "1"])
            await #expect(throws: RPCError(code: .permissionDenied, message: "fatal")) {
                _ = try await catalog.getProduct(productRequest("2"))
            }
            #expect(faults.attempts.count == 3)
        }
    }
}
