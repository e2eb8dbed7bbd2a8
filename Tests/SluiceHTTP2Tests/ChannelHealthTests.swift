import Logging
import SeedServices
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceTestSupport
import Testing

@Suite("Channels: client-side health checking (gRFC A17)", .serialized, .timeLimit(.minutes(2)))
struct ChannelHealthTests {
    /// A named catalog on loopback with a health service, or without one.
    func serve(_ name: String, health: HealthService?) async throws -> (port: Int, task: Task<Void, any Error>) {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let services: [any RegistrableService] = [NamedCatalog(name: name)] + (health.map { [$0] } ?? [])
        let server = GRPCServer(transport: transport, services: services, shutdownGracePeriod: .milliseconds(100))
        let task = Task { try await server.serve() }
        return (try await server.listeningAddress.port ?? 0, task)
    }

    @Test("a server that reports NOT_SERVING receives no calls until it reports SERVING again")
    func notServingGetsNoCalls() async throws {
        let healthA = HealthService()
        let healthB = HealthService()
        healthA.setStatus(.serving, for: "catalog")
        healthB.setStatus(.notServing, for: "catalog")
        let a = try await serve("a", health: healthA)
        let b = try await serve("b", health: healthB)
        let config = try ServiceConfig(json: #"{"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": "catalog"}}"#)
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(a.port),127.0.0.1:\(b.port)", defaultServiceConfig: config)
        let client = GRPCClient(transport: channel)
        // READY once a's watch has said SERVING (b's says NOT_SERVING).
        try await waitWhile(limit: .seconds(30)) { channel.connectivityState != .ready }
        var options = CallOptions(timeout: .seconds(30))
        options.waitForReady = true
        var answers: [String] = []
        for _ in 0..<20 { answers.append(try await whoAnswers(client, options: options)) }
        #expect(Set(answers) == ["a"])

        // The watch delivers each change at once; calls follow it.
        healthB.setStatus(.serving, for: "catalog")
        var later: Set<String> = []
        let until = ContinuousClock.now + .seconds(20)
        while later != ["a", "b"], ContinuousClock.now < until { later.insert(try await whoAnswers(client, options: options)) }
        #expect(later == ["a", "b"])

        healthA.setStatus(.notServing, for: "catalog")
        var recent: [String] = []
        while recent.suffix(20).count < 20 || recent.suffix(20).contains("a"), ContinuousClock.now < until + .seconds(5) {
            recent.append(try await whoAnswers(client, options: options))
        }
        #expect(recent.suffix(20).allSatisfy { $0 == "b" }, "\(recent)")
        await channel.close()
        a.task.cancel()
        b.task.cancel()
    }

    @Test("a server without the health service (UNIMPLEMENTED) is used as its connection allows")
    func unimplementedDisablesChecking() async throws {
        let plain = try await serve("plain", health: nil)
        let config = try ServiceConfig(json: #"{"healthCheckConfig": {"serviceName": "catalog"}}"#)
        let logs = LogRecorder()
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(plain.port)", defaultServiceConfig: config,
                                      logger: logs.logger())
        var options = CallOptions(timeout: .seconds(30))
        options.waitForReady = true
        #expect(try await whoAnswers(GRPCClient(transport: channel), options: options) == "plain")
        // A17: the disabled check is logged as an error naming the endpoint.
        let disabled = logs.all.filter { $0.level == .error && $0.message.contains("health checking disabled") }
        #expect(disabled.count == 1)
        #expect(disabled.first?.metadata[LogKeys.endpoint]?.description.contains("\(plain.port)") == true)
        #expect(disabled.first?.metadata[LogKeys.target]?.description == "ipv4:127.0.0.1:\(plain.port)")
        // The channel's own events are there at debug, with their stable keys.
        #expect(logs.all.contains { $0.message == "subchannel state changed" && $0.metadata[LogKeys.state] == "READY" })
        #expect(logs.all.contains { $0.message == "resolver update" && $0.metadata[LogKeys.endpointCount] == "1" })
        await channel.close()
        plain.task.cancel()
    }
}
