import Foundation
import SeedServices
import Sluice
@testable import SluiceEtcd
import SluiceHTTP2
import SluiceTestSupport
import Synchronization
import Testing

/// An etcd-node process holding a registration.
func registeredProcess(_ etcd: ThrowawayEtcd, service: String, id: String, address: String, ttl: Int = 1) async throws -> ChildProcess {
    let node = try ChildProcess(buildDirectory.appending(path: "etcd-node").path,
                                ["register", "--endpoints", etcd.endpoints.joined(separator: ","), "--service", service,
                                 "--id", id, "--address", address, "--ttl", "\(ttl)"])
    _ = try await node.waitForLine(containing: "registered", timeout: .seconds(30))
    return node
}

/// Waits until `body` returns true, for at most `limit`.
func eventually(_ limit: Duration = .seconds(10), _ what: String = "the condition", _ body: () async throws -> Bool) async throws {
    let end = ContinuousClock.now + limit
    while try await !body() {
        guard ContinuousClock.now < end else { throw ChildProcessError(description: "\(what): not within \(limit)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

@Suite("Service discovery on etcd: registration, leases, watches, the etcd:/// resolver", .timeLimit(.minutes(5)))
struct RegistryTests {
    @Test("register, discover and deregister; etcdctl reads the instance as JSON under /sluice/services/")
    func registerAndDiscover() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let registry = EtcdServiceRegistry(client: client)
        let service = "orders-\(UUID().uuidString.prefix(6))"
        let instance = ServiceInstance(service: service, id: "node-1", address: "127.0.0.1:5001", version: "1.4.2", zone: "eu-west-1a",
                                       weight: 3, tags: ["primary"], metadata: ["build": "abc"])
        let registration = try await registry.register(instance)
        #expect(try await registry.discover(service) == [instance])

        let key = "/sluice/services/\(service)/node-1"
        let json = try await etcd.etcdctl(["get", key, "--print-value-only"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["address"] as? String == "127.0.0.1:5001")
        #expect(object["version"] as? String == "1.4.2")
        #expect(object["instanceId"] as? String == "node-1")
        #expect(object["weight"] as? Int == 3)
        // Bound to a lease of the default TTL, 10 s.
        let lease = try await etcd.etcdctl(["get", key, "-w", "json"])
        #expect(lease.contains("\"lease\":"))

        try await registration.deregister()
        #expect(try await registry.discover(service).isEmpty)
        try await registration.deregister()  // again: nothing
        await client.close()
    }

    @Test("a SIGKILLed process's registration vanishes within its TTL + 1 s; SIGTERM deregisters at once")
    func crashedProcess() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let registry = EtcdServiceRegistry(client: client)
        let service = "crash-\(UUID().uuidString.prefix(6))"
        let crashing = try await registeredProcess(etcd, service: service, id: "a", address: "127.0.0.1:6001", ttl: 2)
        let stopping = try await registeredProcess(etcd, service: service, id: "b", address: "127.0.0.1:6002", ttl: 2)
        #expect(try await registry.discover(service).map(\.id) == ["a", "b"])

        await crashing.kill(SIGKILL)
        let killedAt = ContinuousClock.now
        try await eventually(.seconds(5)) { try await registry.discover(service).map(\.id) == ["b"] }
        #expect(ContinuousClock.now - killedAt <= .seconds(3))

        await stopping.kill(SIGTERM)
        #expect(try await registry.discover(service).isEmpty)
        await client.close()
    }

    @Test("watch yields every registration, deregistration and expiry; malformed values are skipped")
    func watch() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let registry = EtcdServiceRegistry(client: client, leaseTTL: .seconds(1))
        let service = "watched-\(UUID().uuidString.prefix(6))"
        let sets = Observed<[[String]]>([])
        let reader = Task {
            for try await set in registry.watch(service) {
                sets.update { $0.append(set.map(\.id)) }
            }
        }
        defer { reader.cancel() }
        try await eventually { sets.value == [[]] }
        let a = try await registry.register(ServiceInstance(service: service, id: "a", address: "127.0.0.1:7001"))
        try await eventually { sets.value.last == ["a"] }
        let b = try await registry.register(ServiceInstance(service: service, id: "b", address: "127.0.0.1:7002"))
        try await eventually { sets.value.last == ["a", "b"] }
        // Someone else's garbage, and a value with no address: skipped, nothing else changes.
        _ = try await etcd.etcdctl(["put", "/sluice/services/\(service)/junk", "{not json"])
        _ = try await etcd.etcdctl(["put", "/sluice/services/\(service)/empty", "{}"])
        _ = try await etcd.etcdctl(["put", "/sluice/services/\(service)/deeper/x", "{\"address\":\"127.0.0.1:1\"}"])
        try await a.deregister()
        try await eventually { sets.value.last == ["b"] }
        // Expiry: b's keeper stops, as in a crash.
        (b as? EtcdRegistration)?.stopKeepingAlive()
        try await eventually(.seconds(5)) { sets.value.last == [] }
        #expect(sets.value == [[], ["a"], ["a", "b"], ["b"], []])
        #expect(try await registry.discover(service).isEmpty)
        await client.close()
    }

    @Test("a round_robin channel on etcd:/// follows servers as they come, drain and die: no call fails, a killed server's retried",
          .timeLimit(.minutes(3)))
    func channelFollowsRegistry() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let registry = EtcdServiceRegistry(client: client, leaseTTL: .seconds(2))
        let service = "catalog-\(UUID().uuidString.prefix(6))"

        /// A server that registers itself while it serves, and deregisters before draining.
        func startServer(_ name: String) -> Task<Void, any Error> {
            let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
            let server = GRPCServer(transport: transport, services: [NamedCatalog(name: name)], shutdownGracePeriod: .seconds(5))
            return Task {
                try await server.serve(registeringIn: registry, as: { address in
                    ServiceInstance(service: service, id: name, address: "127.0.0.1:\(address.port ?? 0)")
                })
            }
        }
        var servers = ["a": startServer("a")]
        try await eventually { try await registry.discover(service).count == 1 }

        var resolvers = NameResolverRegistry.http2
        resolvers.register(registry.resolverFactory)
        // Retrying UNAVAILABLE, for the killed server's calls; graceful removals need no retry.
        let config = try ServiceConfig(json: """
            {"loadBalancingConfig": [{"round_robin": {}}],
             "methodConfig": [{"name": [{"service": "catalog.ProductService"}],
               "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                               "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let channel = try GRPCChannel(http2: "etcd:///\(service)", defaultServiceConfig: config, resolvers: resolvers)
        let grpc = GRPCClient(transport: channel, serviceConfig: config)
        let catalog = Catalog_ProductService.Client(wrapping: grpc)
        let answers = Observed<[String: Int]>([:])
        let failures = Observed<[String]>([])
        let calling = Task {
            while !Task.isCancelled {
                do {
                    let name = try await catalog.getProduct(Catalog_GetProductRequest(), options: CallOptions(timeout: .seconds(10))).name
                    answers.update { $0[name, default: 0] += 1 }
                } catch {
                    if !Task.isCancelled { failures.update { $0.append("\(error)") } }
                }
            }
        }
        try await eventually { answers.value["a", default: 0] > 20 }
        servers["b"] = startServer("b")
        servers["c"] = startServer("c")
        try await eventually(.seconds(20)) { answers.value["b", default: 0] > 20 && answers.value["c", default: 0] > 20 }

        // A kill: server "d" is registered through an etcd client of its own; both end at once,
        // the connections cut and the lease left to lapse (nobody deregisters). "d" never
        // answers, so the calling loop is certainly in a call on it when it dies: that call
        // fails UNAVAILABLE and is retried on the others. Its key goes with its TTL.
        let crashing = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let stalling = StallingCatalog()
        let doomed = GRPCServer(transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0)), services: [stalling])
        let doomedServing = Task { try await doomed.serve() }
        let doomedPort = try await doomed.listeningAddress.port ?? 0
        _ = try await EtcdServiceRegistry(client: crashing, leaseTTL: .seconds(2))
            .register(ServiceInstance(service: service, id: "d", address: "127.0.0.1:\(doomedPort)"))
        try await eventually(.seconds(20)) { stalling.started.value > 0 }
        doomed.shutdownNow()
        await crashing.close()
        _ = try? await doomedServing.value
        try await eventually(.seconds(20)) { try await !registry.discover(service).contains { $0.id == "d" } }

        // Graceful removal: cancelling serve() deregisters, waits, then drains.
        servers["a"]?.cancel()
        _ = try? await servers["a"]?.value
        let afterA = answers.value["a", default: 0]
        try await Task.sleep(for: .milliseconds(300))
        #expect(answers.value["a", default: 0] == afterA)
        servers["b"]?.cancel()
        _ = try? await servers["b"]?.value
        let before = answers.value["c", default: 0]
        try await eventually { answers.value["c", default: 0] > before + 50 }
        calling.cancel()
        _ = await calling.result
        #expect(failures.value.isEmpty, "\(failures.value.prefix(5))")
        #expect(Set(try await registry.discover(service).map(\.id)) == ["c"])
        servers["c"]?.cancel()
        _ = try? await servers["c"]?.value
        #expect(try await registry.discover(service).isEmpty)
        await channel.close()
        await client.close()
    }

    @Test("etcd unreachable at start: register retries until etcd is there; the watch keeps the last instances while etcd is away")
    func etcdAway() async throws {
        let cluster = try await ThrowawayEtcd.start()
        defer { Task { await cluster.stop() } }
        var configuration = EtcdConfiguration(endpoints: cluster.endpoints)
        configuration.connectTimeout = .milliseconds(500)
        configuration.requestTimeout = .seconds(2)
        let client = try EtcdClient(configuration)
        let registry = EtcdServiceRegistry(client: client, leaseTTL: .seconds(2))
        let service = "away"
        let sets = Observed<[[String]]>([])
        let reader = Task {
            for try await set in registry.watch(service) { sets.update { $0.append(set.map(\.id)) } }
        }
        defer { reader.cancel() }
        _ = try await registry.register(ServiceInstance(service: service, id: "kept", address: "127.0.0.1:8001"))
        try await eventually { sets.value.last == ["kept"] }

        try await cluster.kill(member: 0)
        // While etcd is away: a registration waits, and the watch yields nothing.
        let late = Task { try await registry.register(ServiceInstance(service: service, id: "late", address: "127.0.0.1:8002")) }
        try await Task.sleep(for: .seconds(3))
        #expect(sets.value.last == ["kept"])
        try await cluster.restart(member: 0)
        _ = try await late.value
        // The lease of "kept" expired while etcd was down (or was renewed in time); either way
        // both are registered again once it is back.
        try await eventually(.seconds(20)) { sets.value.last == ["kept", "late"] }
        await client.close()
    }
}
