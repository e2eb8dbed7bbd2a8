import MetricsTestKit
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceTestSupport
import Testing

@Suite("Status gauges: connections, channel and subchannel states, circuit breakers", .timeLimit(.minutes(1)))
struct StatusGaugesTests {
    @Test("a server's connections and calls, and a channel's states and breakers, as gauges")
    func liveServerAndChannel() async throws {
        let metrics = TestMetrics()
        let gauges = StatusGauges(factory: metrics)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [CatalogService()],
                                interceptors: [Refusing(error: RPCError(code: .unavailable, message: "shedding"))])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        // Port 1 refuses connections: that endpoint's subchannel stays in TRANSIENT_FAILURE.
        let target = "ipv4:127.0.0.1:\(port),127.0.0.1:1"
        let channel = try GRPCChannel(
            http2: target, defaultServiceConfig: ServiceConfig(loadBalancingConfig: [.roundRobin]),
            circuitBreaker: CircuitBreakerConfiguration(failureThreshold: 2, recoveryTimeout: .seconds(60)))
        let client = GRPCClient(transport: channel)
        defer { Task { await client.close() } }
        for _ in 0..<2 {
            await #expect(throws: RPCError.self) {
                _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            }
        }
        // The live endpoint's circuit is open now, so neither endpoint can take a call: the
        // channel reads TRANSIENT_FAILURE while its connection stays READY.
        try await waitWhile {
            let snapshot = channel.statusSnapshot()
            return snapshot.state != "TRANSIENT_FAILURE"
                || snapshot.subchannels.map(\.state).sorted() != ["READY", "TRANSIENT_FAILURE"]
        }

        gauges.record(server.statusSnapshot())
        gauges.record(channel.statusSnapshot())
        let address = (GRPCGaugeNames.serverAddress, "ipv4:127.0.0.1:\(port)")
        #expect(try metrics.expectGauge(GRPCGaugeNames.serverConnections, [address]).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.serverActiveCalls, [address]).lastValue == 0)
        let targetDimension = (GRPCMetricNames.target, target)
        func state(_ name: String) -> [(String, String)] { [targetDimension, (GRPCGaugeNames.state, name)] }
        #expect(try metrics.expectGauge(GRPCGaugeNames.channelState, state("TRANSIENT_FAILURE")).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.channelState, state("READY")).lastValue == 0)
        #expect(try metrics.expectGauge(GRPCGaugeNames.subchannels, state("READY")).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.subchannels, state("TRANSIENT_FAILURE")).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.subchannels, state("CONNECTING")).lastValue == 0)

        // Both failures reached the live endpoint, whose breaker opened at the second.
        let live = try #require(channel.statusSnapshot().subchannels.first { $0.state == "READY" })
        let endpoint = [targetDimension, (GRPCGaugeNames.endpoint, live.endpoint)]
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerState, endpoint + [(GRPCGaugeNames.state, "OPEN")]).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerState, endpoint + [(GRPCGaugeNames.state, "CLOSED")]).lastValue == 0)
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerCalls, endpoint + [(GRPCGaugeNames.outcome, "failed")]).lastValue == 2)
    }

    @Test("an endpoint the channel no longer has is zeroed, not left at its last value")
    func droppedEndpoint() throws {
        let metrics = TestMetrics()
        let gauges = StatusGauges(factory: metrics)
        let breaker = ChannelStatusSnapshot.CircuitBreakerCounts(state: "OPEN", total: 9, successful: 1, failed: 8, rejected: 3)
        gauges.record(ChannelStatusSnapshot(target: "dns:///orders:50051", state: "READY", loadBalancingPolicy: "round_robin",
                                            subchannels: [.init(endpoint: "ipv4:10.0.0.1:50051", state: "READY"),
                                                          .init(endpoint: "ipv4:10.0.0.2:50051", state: "READY", circuitBreaker: breaker)]))
        let dropped = [(GRPCMetricNames.target, "dns:///orders:50051"), (GRPCGaugeNames.endpoint, "ipv4:10.0.0.2:50051")]
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerState, dropped + [(GRPCGaugeNames.state, "OPEN")]).lastValue == 1)
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerCalls, dropped + [(GRPCGaugeNames.outcome, "rejected")]).lastValue == 3)

        gauges.record(ChannelStatusSnapshot(target: "dns:///orders:50051", state: "READY", loadBalancingPolicy: "round_robin",
                                            subchannels: [.init(endpoint: "ipv4:10.0.0.1:50051", state: "READY")]))
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerState, dropped + [(GRPCGaugeNames.state, "OPEN")]).lastValue == 0)
        #expect(try metrics.expectGauge(GRPCGaugeNames.circuitBreakerCalls, dropped + [(GRPCGaugeNames.outcome, "rejected")]).lastValue == 0)
        let ready = [(GRPCMetricNames.target, "dns:///orders:50051"), (GRPCGaugeNames.state, "READY")]
        #expect(try metrics.expectGauge(GRPCGaugeNames.subchannels, ready).lastValue == 1)
    }

    @Test("run records every interval until its task is cancelled")
    func periodic() async throws {
        let metrics = TestMetrics()
        let gauges = StatusGauges(factory: metrics)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [CatalogService()])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let sampling = Task { await gauges.run(server: server, every: .milliseconds(20)) }
        let address = [(GRPCGaugeNames.serverAddress, "ipv4:127.0.0.1:\(port)")]
        try await waitWhile { (try? metrics.expectGauge(GRPCGaugeNames.serverConnections, address).lastValue) != 0 }
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
        try await waitWhile { (try? metrics.expectGauge(GRPCGaugeNames.serverConnections, address).lastValue) != 1 }
        sampling.cancel()
        await sampling.value
        await client.close()
    }
}
