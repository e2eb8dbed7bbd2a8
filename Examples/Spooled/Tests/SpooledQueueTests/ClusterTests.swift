import Foundation
import Sluice
import SluiceHTTP2
import SpooledAPI
import Testing

/// Spooled as a cluster on etcd (seed 001's discovery and leader election): two servers on one
/// PostgreSQL database register as `spooled`, workers find them through `etcd:///spooled`, and
/// one server at a time runs the lease reaper.
@Suite("Spooled on etcd: servers register, workers discover them, one server reaps", .serialized, .timeLimit(.minutes(5)))
struct ClusterTests {
    static let apiKey = "sk_cluster_0123456789"
    static let queue = "cluster"

    @Test("a server killed or stopped: workers carry on through etcd:///spooled, and the other server takes over the reaper")
    func failover() async throws {
        let etcd = try await TestEtcd.shared.endpoint()
        let location = try await StoreKind.postgres.freshLocation()
        let ports = [try freePort(), try freePort()]
        func server(_ index: Int) -> SoakProcess {
            SoakProcess(name: "node-\(index)", executable: "spooled-server", arguments: [
                "--port", "\(ports[index])", "--api-key", Self.apiKey, "--store", location.description,
                "--registry", "etcd://\(etcd)", "--node-id", "node-\(index)",
            ])
        }
        let servers = [server(0), server(1)]
        for node in servers { try await node.start(readyWhen: "listening on port") }
        defer { Task { for process in servers { await process.crash() } } }

        // Both registered, as etcdctl reads them; one of them leads the reaper's election.
        try await eventually("both servers registered") {
            let keys = try await TestEtcd.shared.etcdctl(["get", "--prefix", "/sluice/services/spooled/", "--keys-only"])
            return keys.contains("/sluice/services/spooled/node-0") && keys.contains("/sluice/services/spooled/node-1")
        }
        let leader = try await firstValue("a reaper leader") { servers.firstIndex { $0.outputs.joined().contains("leads the lease reaper") } }
        let follower = 1 - leader
        #expect(try await reaperLeader() == "node-\(leader)")
        #expect(!servers[follower].outputs.joined().contains("node-\(follower) leads"))

        let workers = (0..<2).map { index in
            SoakProcess(name: "worker-\(index)", executable: "spooled-worker", arguments: [
                "work", "--target", "etcd:///spooled", "--registry", "etcd://\(etcd)", "--api-key", Self.apiKey,
                "--queue", Self.queue, "--worker-id", "w\(index)", "--concurrency", "4", "--lease-seconds", "2",
                "--work-ms", "5", "--print-outcomes",
            ])
        }
        for worker in workers { try await worker.start(readyWhen: "working queue") }
        defer { Task { for process in workers { await process.crash() } } }

        let client = GRPCClient(transport: try GRPCChannel(http2: "ipv4:" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ","),
                                                           defaultServiceConfig: Self.retrying), serviceConfig: Self.retrying)
        defer { Task { await client.close() } }
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        func enqueue(_ range: Range<Int>) async throws {
            for index in range {
                var request = Spooled_V1_EnqueueRequest()
                request.queueName = Self.queue
                request.payload = #"{"n":\#(index)}"#
                request.idempotencyKey = "cluster-\(index)"
                _ = try await queue.enqueue(request, metadata: ["x-api-key": .string(Self.apiKey)])
            }
        }
        func completed() async throws -> Int64 {
            var stats = Spooled_V1_GetQueueStatsRequest()
            stats.queueName = Self.queue
            let counts = try await queue.getQueueStats(stats, metadata: ["x-api-key": .string(Self.apiKey)]).message
            #expect(counts.deadLetter == 0)
            return counts.completed
        }

        try await enqueue(0..<100)
        try await eventually("the first 100 jobs done") { try await completed() == 100 }

        // The reaper's leader crashes: the other server leads once the lease lapses (3 s).
        await servers[leader].crash()
        try await eventually("node-\(follower) takes over the reaper", within: .seconds(15)) {
            servers[follower].outputs.joined().contains("node-\(follower) leads the lease reaper")
        }
        #expect(try await reaperLeader() == "node-\(follower)")
        try await eventually("node-\(leader) gone from the registry", within: .seconds(15)) {
            try await !TestEtcd.shared.etcdctl(["get", "--prefix", "/sluice/services/spooled/", "--keys-only"])
                .contains("node-\(leader)")
        }
        try await enqueue(100..<200)
        try await eventually("200 jobs done with one server") { try await completed() == 200 }

        // Back again, it registers and campaigns, but the follower keeps the reaper.
        try await servers[leader].start(readyWhen: "listening on port")
        try await eventually("node-\(leader) registered again") {
            try await TestEtcd.shared.etcdctl(["get", "--prefix", "/sluice/services/spooled/", "--keys-only"])
                .contains("node-\(leader)")
        }
        // A graceful stop: deregistered first, drained, the reaper handed over, exit 0.
        try await enqueue(200..<300)
        #expect(await servers[follower].stop() == 0)
        try await eventually("node-\(leader) leads the reaper after node-\(follower) stopped", within: .seconds(15)) {
            servers[leader].outputs.last?.contains("node-\(leader) leads the lease reaper") == true
        }
        try await enqueue(300..<400)
        try await eventually("all 400 jobs done") { try await completed() == 400 }

        for worker in workers { #expect(await worker.stop() == 0) }
        let outputs = workers.flatMap(\.outputs).joined()
        #expect(!outputs.contains("refused "), "a completion refused: \(outputs.suffix(2000))")
        let done = try await querySQL("SELECT count(*) FROM spooled_jobs WHERE status = 3", at: location)
        #expect(done == "400")
    }

    /// The reaper election's leader as etcdctl reads it: the value of the campaign key with
    /// the lowest create revision.
    func reaperLeader() async throws -> String? {
        let json = try await TestEtcd.shared.etcdctl(["get", "--prefix", "spooled/lease-reaper/", "-w", "json"])
        struct Response: Decodable {
            struct KV: Decodable {
                let create_revision: Int64
                let value: String
            }
            let kvs: [KV]?
        }
        let response = try JSONDecoder().decode(Response.self, from: Data(json.utf8))
        let first = response.kvs?.min { $0.create_revision < $1.create_revision }
        return first.flatMap { Data(base64Encoded: $0.value) }.map { String(decoding: $0, as: UTF8.self) }
    }

    static let retrying = try! ServiceConfig(json: """
        {"loadBalancingConfig": [{"round_robin": {}}],
         "methodConfig": [{"name": [{"service": "spooled.v1.QueueService"}], "waitForReady": true, "timeout": "20s",
           "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "1s", "backoffMultiplier": 2,
                           "retryableStatusCodes": ["UNAVAILABLE"]}}]}
        """)  // a literal known to parse
}

/// Polls `produce` every 100 ms until it returns a value (an error counts as not yet), for up
/// to `limit`.
func firstValue<T>(_ what: String, within limit: Duration = .seconds(30), _ produce: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + limit
    while true {
        if let value = try? await produce() { return value }
        guard ContinuousClock.now < deadline else { throw ChildError("not within \(limit): \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// Polls `condition` every 100 ms until it holds (an error counts as not yet), for up to
/// `limit`.
func eventually(_ what: String, within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    _ = try await firstValue(what, within: limit) { try await condition() ? true : nil }
}
