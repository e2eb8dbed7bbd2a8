import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Synchronization
import Testing

/// Fails chosen attempts before the handler runs (a Trailers-Only response, as a server that
/// is shedding load answers), and records what each attempt carried.
final class FaultInjector: ServerInterceptor {
    struct Attempt: Sendable {
        let previousAttempts: String?
        let at: ContinuousClock.Instant
    }

    /// Given the attempt's index among all the server has seen (0-based), the error to fail
    /// it with, or nil to let it through.
    let fault: @Sendable (Int) -> RPCError?
    private let seen = Mutex<[Attempt]>([])

    init(_ fault: @escaping @Sendable (Int) -> RPCError?) {
        self.fault = fault
    }

    var attempts: [Attempt] { seen.withLock { $0 } }

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let previous = request.metadata["grpc-previous-rpc-attempts"].first.map { "\($0)" }
        let index = seen.withLock { seen in
            seen.append(Attempt(previousAttempts: previous, at: .now))
            return seen.count - 1
        }
        if let error = fault(index) { throw error }
        return try await next(request, context)
    }
}

/// Streams `limit` products, failing with UNAVAILABLE after the first when the category is "flaky".
struct HalfwayFailingCatalog: Catalog_ProductService.ServiceProtocol {
    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        var product = Catalog_Product()
        product.id = request.productID
        return product
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {
        for i in 0..<Int(request.limit) {
            var product = Catalog_Product()
            product.id = "p\(i)"
            try await responses.write(product)
            if request.category == "flaky" { throw RPCError(code: .unavailable, message: "gone mid-stream") }
        }
    }

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

func retryConfig(maxAttempts: Int = 4, initialBackoff: String = "0.01s", maxBackoff: String = "0.05s",
                 codes: String = #""UNAVAILABLE""#, throttling: String? = nil, timeout: String? = nil) throws -> ServiceConfig {
    try ServiceConfig(json: """
        {
          "methodConfig": [{
            "name": [{"service": "catalog.ProductService"}],
            \(timeout.map { "\"timeout\": \"\($0)\"," } ?? "")
            "retryPolicy": {
              "maxAttempts": \(maxAttempts), "initialBackoff": "\(initialBackoff)", "maxBackoff": "\(maxBackoff)",
              "backoffMultiplier": 2, "retryableStatusCodes": [\(codes)]
            }
          }]
          \(throttling.map { ", \"retryThrottling\": \($0)" } ?? "")
        }
        """)
}

/// A server on loopback with `interceptor` in front of the catalog, and a client with `config`.
func withRetryingClient<T: Sendable>(
    _ interceptor: FaultInjector, config: ServiceConfig, _ body: (Catalog_ProductService.Client) async throws -> T
) async throws -> T {
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = GRPCServer(transport: transport, services: [HalfwayFailingCatalog()], interceptors: [interceptor])
    let serving = Task { try await server.serve() }
    defer { serving.cancel() }
    let port = try #require(try await server.listeningAddress.port)
    let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)), serviceConfig: config)
    defer { Task { await client.close() } }
    return try await body(Catalog_ProductService.Client(wrapping: client))
}

func productRequest(_ id: String) -> Catalog_GetProductRequest {
    var request = Catalog_GetProductRequest()
    request.productID = id
    return request
}

@Suite("Retries over HTTP/2 (gRFC A6)", .timeLimit(.minutes(2)))
struct RetryTests {
    @Test("UNAVAILABLE twice, then success: three attempts, each telling the server how many came before")
    func retriesUntilSuccess() async throws {
        let faults = FaultInjector { $0 < 2 ? RPCError(code: .unavailable, message: "shedding") : nil }
        let response = try await withRetryingClient(faults, config: try retryConfig()) { catalog in
            try await catalog.getProduct(productRequest("42"))
        }
        #expect(response.id == "42")
        #expect(response.attempts == 3)
        #expect(faults.attempts.map(\.previousAttempts) == [nil, "1", "2"])
    }

    @Test("a status the policy does not list is not retried")
    func notRetryable() async throws {
        let faults = FaultInjector { _ in RPCError(code: .invalidArgument, message: "bad") }
        await #expect(throws: RPCError(code: .invalidArgument, message: "bad")) {
            try await withRetryingClient(faults, config: try retryConfig()) { catalog in
                _ = try await catalog.getProduct(productRequest("1"))
            }
        }
        #expect(faults.attempts.count == 1)
    }

    @Test("after maxAttempts the last status is the call's")
    func exhausted() async throws {
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "down") }
        await #expect(throws: RPCError(code: .unavailable, message: "down")) {
            try await withRetryingClient(faults, config: try retryConfig(maxAttempts: 3)) { catalog in
                _ = try await catalog.getProduct(productRequest("1"))
            }
        }
        #expect(faults.attempts.count == 3)
    }

    @Test("a 300 ms pushback delays the next attempt at least that long; a negative one stops retries")
    func pushback() async throws {
        let faults = FaultInjector { index in
            index == 0 ? RPCError(code: .unavailable, message: "later", metadata: ["grpc-retry-pushback-ms": "300"]) : nil
        }
        let response = try await withRetryingClient(faults, config: try retryConfig()) { catalog in
            try await catalog.getProduct(productRequest("7"))
        }
        #expect(response.attempts == 2)
        let attempts = faults.attempts
        #expect(attempts[1].at - attempts[0].at >= .milliseconds(300))

        let refusing = FaultInjector { _ in RPCError(code: .unavailable, message: "no", metadata: ["grpc-retry-pushback-ms": "-1"]) }
        await #expect(throws: RPCError.self) {
            try await withRetryingClient(refusing, config: try retryConfig()) { catalog in
                _ = try await catalog.getProduct(productRequest("7"))
            }
        }
        #expect(refusing.attempts.count == 1)
    }

    @Test("once a response message has arrived the call is committed: a later failure is not retried")
    func commitOnResponse() async throws {
        let faults = FaultInjector { _ in nil }
        try await withRetryingClient(faults, config: try retryConfig()) { catalog in
            var request = Catalog_ListProductsRequest()
            request.limit = 3
            request.category = "flaky"
            let stream = try await catalog.listProducts(request)
            var ids: [String] = []
            await #expect(throws: RPCError(code: .unavailable, message: "gone mid-stream")) {
                for try await product in stream { ids.append(product.id) }
            }
            #expect(ids == ["p0"])
            #expect(stream.attempts == 1)
        }
        #expect(faults.attempts.count == 1)
    }

    @Test("server streaming is retried before the first response, like unary calls")
    func serverStreaming() async throws {
        let faults = FaultInjector { $0 == 0 ? RPCError(code: .unavailable, message: "once") : nil }
        try await withRetryingClient(faults, config: try retryConfig()) { catalog in
            var request = Catalog_ListProductsRequest()
            request.limit = 2
            let stream = try await catalog.listProducts(request)
            var ids: [String] = []
            for try await product in stream { ids.append(product.id) }
            #expect(ids == ["p0", "p1"])
            #expect(stream.attempts == 2)
        }
    }

    @Test("throttling: once failures drain half the tokens, no retry goes out")
    func throttling() async throws {
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "down") }
        let config = try retryConfig(maxAttempts: 5, throttling: #"{"maxTokens": 4, "tokenRatio": 0.1}"#)
        try await withRetryingClient(faults, config: config) { catalog in
            // 4 tokens: the first failure leaves 3 (retry), the second 2 (no retry).
            await #expect(throws: RPCError.self) { _ = try await catalog.getProduct(productRequest("a")) }
            #expect(faults.attempts.count == 2)
            // Now every failure is final at once.
            await #expect(throws: RPCError.self) { _ = try await catalog.getProduct(productRequest("b")) }
            #expect(faults.attempts.count == 3)
        }
    }

    @Test("the deadline covers every attempt and the backoffs between them")
    func deadline() async throws {
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "down") }
        let config = try retryConfig(maxAttempts: 5, initialBackoff: "2s", maxBackoff: "2s", timeout: "0.3s")
        try await withRetryingClient(faults, config: config) { catalog in
            // Timed around the call alone: starting and stopping the server is not the call's.
            let started = ContinuousClock.now
            await #expect(throws: RPCError.self) {
                do {
                    _ = try await catalog.getProduct(productRequest("a"))
                } catch let error as RPCError {
                    // Either the backoff would pass the deadline, or the deadline passed in it.
                    #expect(error.code == .deadlineExceeded || error.code == .unavailable, "\(error)")
                    throw error
                }
            }
            // A 2 s backoff that was waited out would put the call past 2 s.
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test("an unreachable server is retried as a failed attempt, up to maxAttempts")
    func unreachable() async throws {
        // A port nothing listens on: bind one, learn it, close it.
        let probe = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let probeServer = GRPCServer(transport: probe, services: [])
        let probing = Task { try await probeServer.serve() }
        let port = try #require(try await probe.listeningAddress.port)
        probing.cancel()
        try await probing.value
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.backoff.initial = .milliseconds(5)
        let counting = CountingTransport(base: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port), configuration: configuration))
        let client = GRPCClient(transport: counting, serviceConfig: try retryConfig(maxAttempts: 3))
        await #expect(throws: RPCError.self) {
            do {
                _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(productRequest("x"))
            } catch let error as RPCError {
                #expect(error.code == .unavailable, "\(error)")
                throw error
            }
        }
        #expect(counting.opened == 3)
        await client.close()
    }
}

/// Passes streams through to a real transport, counting the attempts to open one.
final class CountingTransport: ClientTransport {
    let base: any ClientTransport
    private let count = Mutex(0)

    init(base: any ClientTransport) {
        self.base = base
    }

    var opened: Int { count.withLock { $0 } }

    func openStream(_ head: RequestHead) async throws -> ClientStream {
        count.withLock { $0 += 1 }
        return try await base.openStream(head)
    }

    func close() async {
        await base.close()
    }
}
