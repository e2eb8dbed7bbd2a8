import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Synchronization
import Testing

/// A named server on a loopback port, which can be stopped and started again on that port.
final class RestartableServer: Sendable {
    let name: String
    private let serving = Mutex<(GRPCServer, Task<Void, any Error>)?>(nil)
    private let boundPort = Mutex(0)

    init(name: String) {
        self.name = name
    }

    var port: Int { boundPort.withLock { $0 } }
    var address: EndpointAddress { .ipv4(host: "127.0.0.1", port: port) }

    /// Starts on `port` (0 for any; later starts reuse the first port).
    func start() async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: port))
        let server = GRPCServer(transport: transport, services: [NamedCatalog(name: name)], shutdownGracePeriod: .milliseconds(100))
        let task = Task { try await server.serve() }
        let bound = try await server.listeningAddress.port ?? 0
        boundPort.withLock { $0 = bound }
        serving.withLock { $0 = (server, task) }
    }

    /// Stops at once: connections close, calls in flight fail.
    func stop() async {
        guard let (server, task) = serving.withLock({ current in defer { current = nil }; return current }) else { return }
        server.shutdownNow()
        _ = try? await task.value
    }
}

func startServers(_ names: [String]) async throws -> [RestartableServer] {
    var servers: [RestartableServer] = []
    for name in names {
        let server = RestartableServer(name: name)
        try await server.start()
        servers.append(server)
    }
    return servers
}

func ipv4Target(_ servers: [RestartableServer]) -> String {
    "ipv4:" + servers.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
}

func whoAnswers(_ client: GRPCClient, options: CallOptions = .defaults) async throws -> String {
    try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest(), options: options).name
}

let roundRobin = ServiceConfig(loadBalancingConfig: [.roundRobin])

@Suite("Channels: resolution and load balancing over HTTP/2", .serialized, .timeLimit(.minutes(3)))
struct ChannelTests {
    @Test("round_robin over three servers spreads calls evenly")
    func roundRobinSpreads() async throws {
        let servers = try await startServers(["a", "b", "c"])
        let channel = try GRPCChannel(http2: ipv4Target(servers), defaultServiceConfig: roundRobin)
        let client = GRPCClient(transport: channel)
        // Count once every subchannel is up: calls made while some still connect go to the others.
        try await waitWhile(limit: .seconds(30)) {
            channel.subchannelStates.count != 3 || channel.subchannelStates.contains { $0.state != .ready }
        }
        var counts: [String: Int] = [:]
        for _ in 0..<300 { counts[try await whoAnswers(client), default: 0] += 1 }
        #expect(channel.loadBalancingPolicy == "round_robin")
        for name in ["a", "b", "c"] {
            #expect((90...110).contains(counts[name] ?? 0), "\(counts)")
        }
        await channel.close()
        for server in servers { await server.stop() }
    }

    @Test("a stopped server loses no call that retries UNAVAILABLE, and is used again once restarted")
    func stopAndRestart() async throws {
        let servers = try await startServers(["a", "b", "c"])
        let config = try ServiceConfig(json: """
            {"loadBalancingConfig": [{"round_robin": {}}],
             "methodConfig": [{"name": [{"service": "catalog.ProductService"}],
               "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                               "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.backoff.initial = .milliseconds(20)
        configuration.backoff.maximum = .milliseconds(100)
        let channel = try GRPCChannel(http2: ipv4Target(servers), configuration: configuration, defaultServiceConfig: config)
        let client = GRPCClient(transport: channel, serviceConfig: config)
        var answered: [String] = []
        let bounded = CallOptions(timeout: .seconds(20))
        let restarted = servers[1].address
        for i in 0..<300 {
            if i == 100 { await servers[1].stop() }
            if i == 200 {
                try await servers[1].start()
                // b is used again once its subchannel has reconnected (after its backoff).
                try await waitWhile(limit: .seconds(30)) {
                    channel.subchannelStates.first { $0.endpoint.addresses == [restarted] }?.state != .ready
                }
            }
            do {
                answered.append(try await whoAnswers(client, options: bounded))
            } catch {
                Issue.record("call \(i) failed: \(error); subchannels: \(channel.subchannelStates)")
                throw error
            }
        }
        // Every call succeeded; b took none while stopped and some again after its restart.
        #expect(answered.count == 300)
        #expect(!answered[110..<200].contains("b"))
        #expect(answered[200...].contains("b"), "b is not used after its restart: \(answered[200...])")
        await channel.close()
        for server in servers { await server.stop() }
    }

    @Test("pick_first sends every call to the first server, and fails over when it stops")
    func pickFirst() async throws {
        let servers = try await startServers(["first", "second"])
        let channel = try GRPCChannel(http2: ipv4Target(servers))
        let client = GRPCClient(transport: channel)
        for _ in 0..<20 { #expect(try await whoAnswers(client) == "first") }
        #expect(channel.loadBalancingPolicy == "pick_first")
        await servers[0].stop()
        // A call racing the connection's close can still fail (moving it to another
        // connection is the transparent retry still to come); calls after the close is seen
        // must all fail over.
        try await waitWhile { channel.subchannelStates.first?.state == .ready }
        var options = CallOptions(timeout: .seconds(5))
        options.waitForReady = true
        var after: Set<String> = []
        for _ in 0..<20 { after.insert(try await whoAnswers(client, options: options)) }
        #expect(after == ["second"])
        await channel.close()
        for server in servers { await server.stop() }
    }

    @Test("with nothing listening, a fail-fast call fails with UNAVAILABLE; a wait-for-ready call waits for the server")
    func waitForReady() async throws {
        let server = RestartableServer(name: "late")
        try await server.start()
        await server.stop()
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.backoff.initial = .milliseconds(20)
        configuration.backoff.maximum = .milliseconds(50)
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(server.port)", configuration: configuration)
        let client = GRPCClient(transport: channel)
        await #expect(throws: RPCError.self) {
            do { _ = try await whoAnswers(client) } catch let error as RPCError {
                #expect(error.code == .unavailable, "\(error)")
                throw error
            }
        }
        var options = CallOptions(timeout: .seconds(10))
        options.waitForReady = true
        let waiting = Task { try await whoAnswers(client, options: options) }
        try await Task.sleep(for: .milliseconds(200))
        try await server.start()
        #expect(try await waiting.value == "late")

        var short = CallOptions(timeout: .milliseconds(200))
        short.waitForReady = true
        await server.stop()
        try await waitWhile { channel.connectivityState == .ready }
        await #expect(throws: RPCError.self) {
            do { _ = try await whoAnswers(client, options: short) } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded, "\(error)")
                throw error
            }
        }
        await channel.close()
    }

    @Test("a channel on the in-memory registry follows its endpoints as they change")
    func inMemoryDiscovery() async throws {
        let servers = try await startServers(["a", "b"])
        let registry = InMemoryServiceRegistry()
        var resolvers = NameResolverRegistry.http2
        resolvers.register(registry)
        registry.set([Endpoint(servers[0].address)], for: "catalog")
        let channel = try GRPCChannel(http2: "memory:///catalog", defaultServiceConfig: roundRobin, resolvers: resolvers)
        let client = GRPCClient(transport: channel)
        #expect(try await whoAnswers(client) == "a")
        registry.set([Endpoint(servers[1].address)], for: "catalog")
        try await waitWhile { channel.subchannelStates.map(\.endpoint) != [Endpoint(servers[1].address)] }
        for _ in 0..<10 { #expect(try await whoAnswers(client) == "b") }
        registry.set([Endpoint(servers[0].address), Endpoint(servers[1].address)], for: "catalog")
        try await waitWhile { channel.subchannelStates.count != 2 }
        var seen: Set<String> = []
        for _ in 0..<10 { seen.insert(try await whoAnswers(client)) }
        #expect(seen == ["a", "b"])
        await channel.close()
        for server in servers { await server.stop() }
    }

    @Test("method configs from the resolver apply to the client's calls; a bad one keeps the last good one")
    func resolverServiceConfig() async throws {
        let servers = try await startServers(["configured"])
        let registry = InMemoryServiceRegistry()
        var resolvers = NameResolverRegistry.http2
        resolvers.register(registry)
        let tiny = try ServiceConfig(json: """
            {"methodConfig": [{"name": [{"service": "catalog.ProductService"}], "maxResponseMessageBytes": 1}]}
            """)
        registry.set([Endpoint(servers[0].address)], serviceConfig: .success(tiny), for: "catalog")
        let channel = try GRPCChannel(http2: "memory:///catalog", resolvers: resolvers)
        // The client's own config (none) gives way to the resolver's.
        let client = GRPCClient(transport: channel)
        let error = await #expect(throws: RPCError.self) { _ = try await whoAnswers(client) }
        #expect(error?.code == .resourceExhausted, "\(String(describing: error))")

        registry.set([Endpoint(servers[0].address)], serviceConfig: .success(ServiceConfig()), for: "catalog")
        try await waitWhile { channel.serviceConfig != ServiceConfig() }
        #expect(try await whoAnswers(client) == "configured")

        // An invalid config from the resolver keeps the previous one, as grpc-go does.
        let failure = try #require(#expect(throws: ServiceConfigError.self) { try ServiceConfig(json: #"{"methodConfig": 3}"#) })
        registry.set([Endpoint(servers[0].address)], serviceConfig: .failure(failure), for: "catalog")
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await whoAnswers(client) == "configured")
        await channel.close()
        for server in servers { await server.stop() }
    }

    @Test("dns:///localhost:port resolves through the system resolver")
    func dns() async throws {
        let servers = try await startServers(["local"])
        let channel = try GRPCChannel(http2: "dns:///localhost:\(servers[0].port)")
        let client = GRPCClient(transport: channel)
        var options = CallOptions(timeout: .seconds(5))
        options.waitForReady = true
        #expect(try await whoAnswers(client, options: options) == "local")
        #expect(channel.subchannelStates.contains { $0.endpoint.addresses == [.ipv4(host: "127.0.0.1", port: servers[0].port)] })
        let bare = try GRPCChannel(http2: "localhost:\(servers[0].port)")
        #expect(bare.target.scheme == "dns")
        #expect(try await whoAnswers(GRPCClient(transport: bare), options: options) == "local")
        await channel.close()
        await bare.close()
        await servers[0].stop()
    }

    @Test("the channel's state goes IDLE, CONNECTING, READY, and SHUTDOWN when closed")
    func connectivity() async throws {
        let servers = try await startServers(["a"])
        let channel = try GRPCChannel(http2: ipv4Target(servers))
        var states = channel.connectivityStates.makeAsyncIterator()
        var seen: [ConnectivityState] = []
        while let state = await states.next() {
            seen.append(state)
            if state == .ready { break }
        }
        #expect(seen.last == .ready)
        #expect(seen.allSatisfy { [.idle, .connecting, .ready].contains($0) }, "\(seen)")
        await channel.close()
        #expect(channel.connectivityState == .shutdown)
        await servers[0].stop()
    }

    @Test("closing the channel ends its calls in flight with UNAVAILABLE, and the server's handlers are cancelled")
    func closeEndsCalls() async throws {
        let stalling = StallingCatalog()
        let server = GRPCServer(transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0)), services: [stalling])
        let serving = Task { try await server.serve() }
        let port = try await server.listeningAddress.port ?? 0
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)")
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: channel))
        let call = Task { try await catalog.getProduct(Catalog_GetProductRequest()) }
        try await waitWhile(limit: .seconds(30)) { stalling.started.value == 0 }
        #expect(stalling.started.value == 1)
        await channel.close()
        let error = await #expect(throws: RPCError.self) { _ = try await call.value }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        try await waitWhile(limit: .seconds(30)) { stalling.cancelled.value == 0 }
        #expect(stalling.cancelled.value == 1)
        // Nothing is left for the server's graceful shutdown to wait for.
        server.beginGracefulShutdown()
        try await serving.value
    }

    @Test("a bad target fails when the channel is made, naming the part that is wrong")
    func badTarget() {
        #expect(throws: ResolverTargetError(target: "ipv4:10.0.0:80", problem: "'10.0.0' is not an IPv4 address")) {
            _ = try GRPCChannel(http2: "ipv4:10.0.0:80")
        }
        #expect(throws: ResolverTargetError.self) { _ = try GRPCChannel(http2: "etcd:///orders") }
    }
}

@Suite("Channels: circuit breaking per endpoint", .serialized, .timeLimit(.minutes(2)))
struct ChannelCircuitBreakerTests {
    @Test("an endpoint whose circuit opened is skipped while another is healthy; with all open, calls fail at once")
    func perEndpoint() async throws {
        let healthy = RestartableServer(name: "healthy")
        try await healthy.start()
        // A server that fails every call.
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "broken") }
        let brokenTransport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let broken = GRPCServer(transport: brokenTransport, services: [NamedCatalog(name: "broken")], interceptors: [faults])
        let brokenServing = Task { try await broken.serve() }
        let brokenPort = try #require(try await broken.listeningAddress.port)

        let breaker = CircuitBreakerConfiguration(failureThreshold: 3, recoveryTimeout: .seconds(60))
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(healthy.port),127.0.0.1:\(brokenPort)",
                                      defaultServiceConfig: roundRobin, circuitBreaker: breaker)
        let client = GRPCClient(transport: channel)
        // Both subchannels READY before the first call, or round_robin sends every call to the one
        // that connected first (on a busy machine the other can take seconds).
        try await waitWhile(limit: .seconds(30)) {
            let states = channel.subchannelStates
            return states.count < 2 || states.contains { $0.state != .ready }
        }
        try #require(channel.subchannelStates.map(\.state) == [.ready, .ready])
        var answers: [String] = []
        for _ in 0..<40 {
            do { answers.append(try await whoAnswers(client)) } catch { answers.append("error") }
        }
        try await waitWhile { faults.attempts.count < 3 }
        // The broken endpoint took three calls, then its circuit opened and it took no more.
        #expect(faults.attempts.count == 3, "\(answers)")
        #expect(answers.filter { $0 == "error" }.count == 3)
        #expect(answers.suffix(20).allSatisfy { $0 == "healthy" })
        let metrics = channel.circuitBreakerMetrics
        #expect(metrics.first { $0.endpoint.addresses == [.ipv4(host: "127.0.0.1", port: brokenPort)] }?.metrics.state == .open)

        // With the healthy server's circuit open too, calls fail at once without a connection attempt.
        let allBroken = try GRPCChannel(http2: "ipv4:127.0.0.1:\(brokenPort)", circuitBreaker: breaker)
        let brokenClient = GRPCClient(transport: allBroken)
        for _ in 0..<3 { _ = try? await whoAnswers(brokenClient) }
        let before = faults.attempts.count
        let started = ContinuousClock.now
        await #expect(throws: RPCError(code: .unavailable, message: "circuit open")) { _ = try await whoAnswers(brokenClient) }
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(faults.attempts.count == before)

        await channel.close()
        await allBroken.close()
        await healthy.stop()
        brokenServing.cancel()
        _ = try? await brokenServing.value
    }

    @Test("the channel reads TRANSIENT_FAILURE while every circuit is open, and READY once a probe may go through")
    func stateFollowsBreakers() async throws {
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "broken") }
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [NamedCatalog(name: "broken")], interceptors: [faults])
        let serving = Task { try await server.serve() }
        let port = try #require(try await server.listeningAddress.port)
        let breaker = CircuitBreakerConfiguration(failureThreshold: 2, recoveryTimeout: .milliseconds(800))
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)", circuitBreaker: breaker)
        let client = GRPCClient(transport: channel)
        var states = channel.connectivityStates.makeAsyncIterator()
        for _ in 0..<2 { _ = try? await whoAnswers(client) }
        try await waitWhile { channel.connectivityState != .transientFailure }
        // The connection itself is fine: only the breaker keeps calls away.
        #expect(channel.connectivityState == .transientFailure)
        #expect(channel.subchannelStates.map(\.state) == [.ready])
        // Without any further event, the recovery timeout brings the channel back.
        try await waitWhile { channel.connectivityState != .ready }
        #expect(channel.connectivityState == .ready)
        // A watcher saw the whole story.
        var seen: [ConnectivityState] = []
        while let state = await states.next() {
            if seen.last != state { seen.append(state) }
            if seen.suffix(2) == [.transientFailure, .ready] { break }
        }
        #expect(seen.suffix(3) == [.ready, .transientFailure, .ready], "\(seen)")
        await channel.close()
        serving.cancel()
        _ = try? await serving.value
    }
}
