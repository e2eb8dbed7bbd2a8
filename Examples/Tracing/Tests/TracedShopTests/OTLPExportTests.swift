import Sluice
import Testing
import TracedShop

@Suite("Traces exported over OTLP/HTTP by swift-otel, decoded by opentelemetry-proto", .serialized, .timeLimit(.minutes(2)))
struct OTLPExportTests {
    @Test("every call of the chain is one trace of four spans, parented client -> server -> client -> server, with RPC attributes")
    func chain() async throws {
        let receiver = try OTLPReceiver()
        defer { receiver.stop() }
        let port = try await receiver.port()
        let options = ShopTracingOptions(serviceName: "shop-under-test", samplingRate: 1,
                                         tags: ["deployment.environment": "test", "team": "checkout"],
                                         endpoint: "http://127.0.0.1:\(port)/v1/traces")
        let run = try await runTracedShop(options, skus: ["tea", "coffee", "sold-out"])
        #expect(try run.outcomes[0].get() == "order-tea-1")
        guard case .failure(let soldOut) = run.outcomes[2] else {
            Issue.record("sold-out was checked out")
            return
        }
        #expect(soldOut.code == .failedPrecondition)

        // The exporter flushed before runTracedShop returned.
        let spans = try receiver.spans()
        #expect(receiver.rejections.isEmpty, "\(receiver.rejections)")
        #expect(spans.count == 12, "\(spans.map(\.name))")
        for span in spans {
            #expect(span.resource["service.name"] == .string("shop-under-test"))
            #expect(span.resource["deployment.environment"] == .string("test"))
            #expect(span.resource["team"] == .string("checkout"))
            #expect(span.attributes["rpc.system"] == .string("grpc"))
        }
        let traces = Dictionary(grouping: spans, by: \.traceID)
        #expect(traces.count == 3)
        for (_, trace) in traces {
            let byKind = Dictionary(grouping: trace) { "\($0.kind) \($0.name)" }
            let clientCheckout = try #require(byKind["SPAN_KIND_CLIENT shop.Frontend/Checkout"]?.first)
            let serverCheckout = try #require(byKind["SPAN_KIND_SERVER shop.Frontend/Checkout"]?.first)
            let clientReserve = try #require(byKind["SPAN_KIND_CLIENT shop.Inventory/Reserve"]?.first)
            let serverReserve = try #require(byKind["SPAN_KIND_SERVER shop.Inventory/Reserve"]?.first)
            #expect(clientCheckout.parentSpanID == "")
            #expect(serverCheckout.parentSpanID == clientCheckout.spanID)
            #expect(clientReserve.parentSpanID == serverCheckout.spanID)
            #expect(serverReserve.parentSpanID == clientReserve.spanID)
            #expect(clientCheckout.attributes["rpc.service"] == .string("shop.Frontend"))
            #expect(clientCheckout.attributes["rpc.method"] == .string("Checkout"))
            #expect(clientCheckout.attributes["server.address"] == .string("127.0.0.1"))
            #expect(clientReserve.attributes["rpc.service"] == .string("shop.Inventory"))
            if case .int(let port)? = clientReserve.attributes["server.port"] {
                #expect(port > 0)
            } else {
                Issue.record("no server.port on \(clientReserve)")
            }
        }
        // The sold-out trace carries the error on every span, with FAILED_PRECONDITION's code.
        let failed = spans.filter { $0.attributes["rpc.grpc.status_code"] == .int(9) }
        #expect(failed.count == 4, "\(spans.map { ($0.name, $0.attributes["rpc.grpc.status_code"]) })")
        #expect(Set(failed.map(\.traceID)).count == 1)
        for span in failed { #expect(span.status == "STATUS_CODE_ERROR") }
        let succeeded = spans.filter { $0.attributes["rpc.grpc.status_code"] == .int(0) }
        #expect(succeeded.count == 8)
    }

    @Test("the sampling rate keeps that share of traces, each whole; at 0 nothing is exported")
    func sampling() async throws {
        let receiver = try OTLPReceiver()
        defer { receiver.stop() }
        let port = try await receiver.port()
        let endpoint = "http://127.0.0.1:\(port)/v1/traces"
        _ = try await runTracedShop(ShopTracingOptions(serviceName: "never-sampled", samplingRate: 0, endpoint: endpoint),
                                    skus: Array(repeating: "tea", count: 20))
        _ = try await runTracedShop(ShopTracingOptions(serviceName: "quarter-sampled", samplingRate: 0.25, endpoint: endpoint),
                                    skus: Array(repeating: "tea", count: 120))
        let spans = try receiver.spans()
        #expect(!spans.contains { $0.resource["service.name"] == .string("never-sampled") })
        let quarter = Dictionary(grouping: spans.filter { $0.resource["service.name"] == .string("quarter-sampled") }, by: \.traceID)
        // 120 traces at 0.25: 30 expected; the bounds are over 4 standard deviations (4.7) away.
        #expect((10...50).contains(quarter.count), "\(quarter.count) traces kept")
        // The servers follow the client's decision: no trace is kept in part.
        for (_, trace) in quarter { #expect(trace.count == 4) }
    }

    @Test("a sampling rate outside 0...1 is refused before anything starts")
    func invalidRate() async throws {
        await #expect(throws: ShopTracingError.self) {
            _ = try await runTracedShop(ShopTracingOptions(serviceName: "x", samplingRate: 1.5, endpoint: "http://127.0.0.1:1/v1/traces"),
                                        skus: ["tea"])
        }
    }
}
