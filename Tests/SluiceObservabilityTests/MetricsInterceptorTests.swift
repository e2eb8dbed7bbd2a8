import MetricsTestKit
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceTestSupport
import Testing

@Suite("Metrics interceptors: gRFC A66's instruments", .timeLimit(.minutes(1)))
struct MetricsInterceptorTests {
    /// A server and a client on loopback, each with its metrics interceptor on `metrics`.
    func withMeasuredCalls(_ metrics: TestMetrics, inner: [any ServerInterceptor] = [],
                           _ body: (GRPCClient, String) async throws -> Void) async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [CatalogService(), ChatService()],
                                interceptors: [ServerMetricsInterceptor(factory: metrics)] + inner)
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let target = "ipv4:127.0.0.1:\(port)"
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                                interceptors: [ClientMetricsInterceptor(target: target, factory: metrics)])
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
}
