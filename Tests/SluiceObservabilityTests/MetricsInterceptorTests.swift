import MetricsTestKit
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceTestSupport
import Synchronization
import Testing

@Suite("Metrics interceptors: gRFC A66's instruments", .timeLimit(.minutes(1)))
struct MetricsInterceptorTests {
    /// A server and a client on loopback, each with its metrics interceptor on `metrics`.
    func withMeasuredCalls(_ metrics: TestMetrics, inner: [any ServerInterceptor] = [],
                           serviceConfig: ServiceConfig = ServiceConfig(),
                           _ body: (GRPCClient, String) async throws -> Void) async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [CatalogService(), ChatService()],
                                interceptors: [ServerMetricsInterceptor(factory: metrics)] + inner)
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let target = "ipv4:127.0.0.1:\(port)"
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                                interceptors: [ClientMetricsInterceptor(target: target, factory: metrics)],
                                serviceConfig: serviceConfig)
        defer { Task { await client.close() } }
        try await body(client, target)
    }

    @Test("unary calls: started counts, durations and sizes by method, target and status, on both sides")
    func unary() async throws {
        let metrics = TestMetrics()
        try await withMeasuredCalls(metrics) { client, target in
            var request = Catalog_GetProductRequest()
            request.productID = "p1"
            for _ in 0..<3 { _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(request) }
            let method = (GRPCMetricNames.method, "catalog.ProductService/GetProduct")
            let ok = (GRPCMetricNames.status, "OK")
            let clientBase = [method, (GRPCMetricNames.target, target)]
            try await waitWhile { (try? metrics.expectTimer(GRPCMetricNames.serverCallDuration, [method, ok]).values.count) != 3 }
            #expect(try metrics.expectCounter(GRPCMetricNames.clientAttemptStarted, clientBase).totalValue == 3)
            #expect(try metrics.expectTimer(GRPCMetricNames.clientCallDuration, clientBase + [ok]).values.count == 3)
            #expect(try metrics.expectTimer(GRPCMetricNames.clientAttemptDuration, clientBase + [ok]).values.count == 3)
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientAttemptSentSize, clientBase + [ok]).lastValue == 4)
            #expect(try metrics.expectCounter(GRPCMetricNames.serverCallStarted, [method]).totalValue == 3)
            #expect(try metrics.expectRecorder(GRPCMetricNames.serverCallReceivedSize, [method, ok]).lastValue == 4)
            let sent = try metrics.expectRecorder(GRPCMetricNames.serverCallSentSize, [method, ok]).lastValue
            let received = try metrics.expectRecorder(GRPCMetricNames.clientAttemptReceivedSize, clientBase + [ok]).lastValue
            #expect(sent == received)
            #expect((sent ?? 0) > 0)
            for duration in try metrics.expectTimer(GRPCMetricNames.clientCallDuration, clientBase + [ok]).values {
                #expect(duration > 0)
            }
        }
    }

    @Test("a failed call is recorded under its status")
    func failure() async throws {
        let metrics = TestMetrics()
        try await withMeasuredCalls(metrics, inner: [Refusing(error: RPCError(code: .unavailable, message: "shed"))]) { client, target in
            await #expect(throws: RPCError.self) {
                _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            }
            let method = (GRPCMetricNames.method, "catalog.ProductService/GetProduct")
            let unavailable = (GRPCMetricNames.status, "UNAVAILABLE")
            try await waitWhile { (try? metrics.expectTimer(GRPCMetricNames.serverCallDuration, [method, unavailable])) == nil }
            #expect(try metrics.expectTimer(GRPCMetricNames.clientCallDuration,
                                            [method, (GRPCMetricNames.target, target), unavailable]).values.count == 1)
        }
    }

    @Test("calls to methods the server does not serve are recorded as UNIMPLEMENTED under the method other (A66)")
    func unknownMethods() async throws {
        let metrics = TestMetrics()
        try await withMeasuredCalls(metrics) { client, _ in
            for index in 0..<5 {
                let probe = MethodDescriptor(service: "probe.Scanner", method: "Path\(index)", kind: .unary)
                let error = await #expect(throws: RPCError.self) {
                    let _: UnaryResponse<Catalog_Product> = try await client.unary(
                        probe, Catalog_GetProductRequest(), metadata: [:], options: .defaults)
                }
                #expect(error?.code == .unimplemented)
            }
            let other = (GRPCMetricNames.method, "other")
            try await waitWhile { (try? metrics.expectCounter(GRPCMetricNames.serverCallStarted, [other]).totalValue) != 5 }
            #expect(try metrics.expectTimer(GRPCMetricNames.serverCallDuration,
                                            [other, (GRPCMetricNames.status, "UNIMPLEMENTED")]).values.count == 5)
            #expect((try? metrics.expectCounter(GRPCMetricNames.serverCallStarted,
                                                [(GRPCMetricNames.method, "probe.Scanner/Path0")])) == nil)
        }
    }

    @Test("a bidirectional call's sizes add up every message each way")
    func streaming() async throws {
        let metrics = TestMetrics()
        try await withMeasuredCalls(metrics) { client, target in
            var messages: [Chat_ChatMessage] = []
            for text in ["a", "bb", "ccc"] {
                var message = Chat_ChatMessage()
                message.text = text
                messages.append(message)
            }
            let replies = try await Chat_ChatService.Client(wrapping: client).chat(requests: AsyncArray(messages))
            for try await _ in replies {}
            let method = (GRPCMetricNames.method, "chat.ChatService/Chat")
            let ok = (GRPCMetricNames.status, "OK")
            try await waitWhile { (try? metrics.expectRecorder(GRPCMetricNames.serverCallReceivedSize, [method, ok])) == nil }
            // Each request is field 3 (text): 2 bytes of tag and length, then the text.
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientAttemptSentSize,
                                               [method, (GRPCMetricNames.target, target), ok]).lastValue == 3 * 2 + 6)
            #expect(try metrics.expectRecorder(GRPCMetricNames.serverCallReceivedSize, [method, ok]).lastValue == 12)
        }
    }

    @Test("a retried call records each attempt under its own status, its retries and its backoff (A66, A96)")
    func retriedCall() async throws {
        let metrics = TestMetrics()
        let policy = RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(20),
                                 backoffMultiplier: 1, retryableStatusCodes: [.unavailable])
        let config = ServiceConfig(methodConfig: [
            MethodConfig(names: [.init(service: "catalog.ProductService")], executionPolicy: .retry(policy)),
        ])
        let failing = FailingFirst(calls: 2, error: RPCError(code: .unavailable, message: "warming up"))
        try await withMeasuredCalls(metrics, inner: [failing], serviceConfig: config) { client, target in
            var request = Catalog_GetProductRequest()
            request.productID = "p1"
            let response = try await Catalog_ProductService.Client(wrapping: client).getProduct(request)
            #expect(response.attempts == 3)
            let base = [(GRPCMetricNames.method, "catalog.ProductService/GetProduct"), (GRPCMetricNames.target, target)]
            let ok = (GRPCMetricNames.status, "OK")
            let unavailable = (GRPCMetricNames.status, "UNAVAILABLE")
            try await waitWhile { (try? metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [ok])) == nil }
            #expect(try metrics.expectCounter(GRPCMetricNames.clientAttemptStarted, base).totalValue == 3)
            #expect(try metrics.expectTimer(GRPCMetricNames.clientAttemptDuration, base + [unavailable]).values.count == 2)
            #expect(try metrics.expectTimer(GRPCMetricNames.clientAttemptDuration, base + [ok]).values.count == 1)
            // Every attempt sent the request again: 4 bytes each.
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientAttemptSentSize, base + [unavailable]).values == [4, 4])
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientAttemptReceivedSize, base + [unavailable]).values == [0, 0])
            // One call, however many attempts; its status is the last attempt's.
            #expect(try metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [ok]).values.count == 1)
            #expect((try? metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [unavailable]))?.values.isEmpty != false)
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientCallRetries, base).values == [2])
            #expect((try? metrics.expectRecorder(GRPCMetricNames.clientCallHedges, base)) == nil)
            // Two backoffs of 20 ms (jittered down to any fraction: A6's backoff is random(0, 20 ms)).
            let delay = try #require(try metrics.expectTimer(GRPCMetricNames.clientCallRetryDelay, base).values.first)
            let callDuration = try #require(try metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [ok]).values.first)
            #expect(delay > 0 && delay < callDuration)
        }
    }

    @Test("a call that finds no server records one failed attempt and one failed call")
    func noServer() async throws {
        let metrics = TestMetrics()
        // Port 1: nothing listens there.
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: 1)),
                                interceptors: [ClientMetricsInterceptor(target: "ipv4:127.0.0.1:1", factory: metrics)])
        await #expect(throws: RPCError.self) {
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
        }
        await client.close()
        let base = [(GRPCMetricNames.method, "catalog.ProductService/GetProduct"), (GRPCMetricNames.target, "ipv4:127.0.0.1:1")]
        let unavailable = (GRPCMetricNames.status, "UNAVAILABLE")
        #expect(try metrics.expectCounter(GRPCMetricNames.clientAttemptStarted, base).totalValue == 1)
        #expect(try metrics.expectTimer(GRPCMetricNames.clientAttemptDuration, base + [unavailable]).values.count == 1)
        #expect(try metrics.expectRecorder(GRPCMetricNames.clientAttemptSentSize, base + [unavailable]).values == [0])
        #expect(try metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [unavailable]).values.count == 1)
    }

    @Test("a call without retries records no retry instruments, not zeros (A96)")
    func unretriedCall() async throws {
        let metrics = TestMetrics()
        try await withMeasuredCalls(metrics) { client, target in
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            let base = [(GRPCMetricNames.method, "catalog.ProductService/GetProduct"), (GRPCMetricNames.target, target)]
            try await waitWhile { (try? metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [(GRPCMetricNames.status, "OK")])) == nil }
            #expect((try? metrics.expectRecorder(GRPCMetricNames.clientCallRetries, base)) == nil)
            #expect((try? metrics.expectTimer(GRPCMetricNames.clientCallRetryDelay, base)) == nil)
        }
    }

    @Test("a hedged call records each hedge as an attempt and counts the hedges (A96)")
    func hedgedCall() async throws {
        let metrics = TestMetrics()
        let config = ServiceConfig(methodConfig: [
            MethodConfig(names: [.init(service: "catalog.ProductService")],
                         executionPolicy: .hedging(HedgingPolicy(maxAttempts: 3, hedgingDelay: .zero,
                                                                 nonFatalStatusCodes: [.unavailable]))),
        ])
        let failing = FailingFirst(calls: 2, error: RPCError(code: .unavailable, message: "busy"))
        try await withMeasuredCalls(metrics, inner: [failing], serviceConfig: config) { client, target in
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            let base = [(GRPCMetricNames.method, "catalog.ProductService/GetProduct"), (GRPCMetricNames.target, target)]
            let ok = (GRPCMetricNames.status, "OK")
            try await waitWhile { (try? metrics.expectTimer(GRPCMetricNames.clientCallDuration, base + [ok])) == nil }
            #expect(try metrics.expectCounter(GRPCMetricNames.clientAttemptStarted, base).totalValue == 3)
            #expect(try metrics.expectRecorder(GRPCMetricNames.clientCallHedges, base).values == [2])
            #expect(try metrics.expectTimer(GRPCMetricNames.clientAttemptDuration, base + [(GRPCMetricNames.status, "UNAVAILABLE")])
                .values.count == 2)
            #expect((try? metrics.expectRecorder(GRPCMetricNames.clientCallRetries, base)) == nil)
        }
    }
}

/// Fails the server's first `calls` calls with `error`, then lets calls through.
final class FailingFirst: ServerInterceptor {
    let calls: Int
    let error: RPCError
    private let seen = Atomic<Int>(0)

    init(calls: Int, error: RPCError) {
        self.calls = calls
        self.error = error
    }

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if seen.add(1, ordering: .relaxed).newValue <= calls { throw error }
        return try await next(request, context)
    }
}
