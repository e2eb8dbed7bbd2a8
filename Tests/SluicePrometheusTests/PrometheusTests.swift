import Foundation
import Prometheus
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluicePrometheus
import SluiceTestSupport
import Testing

/// A server and a client on loopback measured into one registry, and its `/metrics` port.
/// Cancelling the endpoint's task stops it: `run()` returns and the port is closed.
func withMeasuredServer(_ body: (Catalog_ProductService.Client, Int) async throws -> Void) async throws {
    let registry = PrometheusCollectorRegistry()
    let factory = GRPCPrometheusNaming.metricsFactory(registry: registry)
    let metrics = PrometheusMetricsServer(registry: registry, port: 0)
    let exposing = Task { try await metrics.run() }
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = GRPCServer(transport: transport, services: [CatalogService()],
                            interceptors: [ServerMetricsInterceptor(factory: factory)])
    let serving = Task { try await server.serve() }
    let port = try #require(try await server.listeningAddress.port)
    let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                            interceptors: [ClientMetricsInterceptor(target: "ipv4:127.0.0.1:\(port)", factory: factory)])
    do {
        try await body(Catalog_ProductService.Client(wrapping: client), try await metrics.listeningPort)
    } catch {
        await client.close()
        serving.cancel()
        exposing.cancel()
        throw error
    }
    await client.close()
    serving.cancel()
    exposing.cancel()
    try await exposing.value
    let metricsPort = try await metrics.listeningPort
    let after = try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(metricsPort)/metrics"])
    #expect(after.status != 0, "the endpoint still answers after its task was cancelled")
}

@Suite("Prometheus: GET /metrics, scraped by a real Prometheus", .serialized, .timeLimit(.minutes(3)))
struct PrometheusTests {
    @Test("GET /metrics answers text format 0.0.4 with A66's instruments in Prometheus's names; other paths 404, POST 405")
    func exposition() async throws {
        try await withMeasuredServer { catalog, metricsPort in
            for _ in 0..<7 { _ = try await catalog.getProduct(Catalog_GetProductRequest()) }
            let url = "http://127.0.0.1:\(metricsPort)/metrics"
            // The server records a call's end after its last byte is sent: wait for the seventh.
            var text = ""
            for _ in 0..<100 {
                text = try await run("curl", ["-s", "-i", url]).output
                if text.contains(#"grpc_server_call_duration_seconds_count{grpc_method="catalog.ProductService/GetProduct",grpc_status="OK"} 7"#) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(text.prefix(200))")
            #expect(text.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8"))
            #expect(text.contains(#"grpc_server_call_started_total{grpc_method="catalog.ProductService/GetProduct"} 7"#), "\(text)")
            #expect(text.contains(#"grpc_server_call_duration_seconds_count{grpc_method="catalog.ProductService/GetProduct",grpc_status="OK"} 7"#))
            #expect(text.contains(#"grpc_client_attempt_started_total{grpc_method="catalog.ProductService/GetProduct",grpc_target="ipv4:127.0.0.1:"#))
            #expect(text.contains("# TYPE grpc_server_call_rcvd_total_compressed_message_size_bytes histogram"))
            // A66's buckets: 16384 bytes is one of the size boundaries, 0.0003 s a latency one.
            #expect(text.contains(#"grpc_server_call_sent_total_compressed_message_size_bytes_bucket{grpc_method="catalog.ProductService/GetProduct",grpc_status="OK",le="16384.0"} 7"#))
            #expect(text.contains(#"le="0.0003""#))
            let missing = try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(metricsPort)/other"])
            #expect(missing.output == "404")
            let post = try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data", "x", url])
            #expect(post.output == "405")
        }
    }

    @Test("Debian's prometheus scrapes the endpoint and its query API returns the calls made")
    func realPrometheusScrapes() async throws {
        try await withMeasuredServer { catalog, metricsPort in
            let prometheus = try await RealPrometheus(scraping: ["127.0.0.1:\(metricsPort)"])
            do {
                for _ in 0..<12 { _ = try await catalog.getProduct(Catalog_GetProductRequest()) }
                let query = #"sum(grpc_server_call_started_total{job="sluice",grpc_method="catalog.ProductService/GetProduct"})"#
                var seen: Double?
                let deadline = ContinuousClock.now + .seconds(60)
                while seen != 12, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    seen = try await prometheus.query(query)
                }
                let health = try await prometheus.targetHealth()
                #expect(seen == 12, "targets: \(health)")
                let durations = try await prometheus.query(
                    #"sum(grpc_client_call_duration_seconds_count{grpc_status="OK"})"#)
                #expect(durations == 12)
                #expect(health["127.0.0.1:\(metricsPort)"]?.hasPrefix("up") == true, "\(health)")
            } catch {
                await prometheus.stop()
                throw error
            }
            await prometheus.stop()
        }
    }
}
