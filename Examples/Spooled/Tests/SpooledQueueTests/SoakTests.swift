import Foundation
import Sluice
import SluiceHTTP2
import SpooledAPI
import SpooledQueue
import Synchronization
import Testing

/// Servers and workers killed with SIGKILL at random moments while jobs flow: at the end every
/// job is completed exactly once (by its completion record) or dead-lettered with a reason,
/// none is lost or duplicated, and no completion was accepted after its lease lapsed.
///
/// `SPOOLED_SOAK_JOBS` sets the size: 5,000 by default, as CI runs it (beside stress-ng and
/// everything else CI runs, 20,000 on each store took most of CI's time); 20,000 or 200,000 by
/// hand.
@Suite("Spooled fault soak: SIGKILLs lose no job", .serialized, .timeLimit(.minutes(20)))
struct SoakTests {
    static let jobs = Int(ProcessInfo.processInfo.environment["SPOOLED_SOAK_JOBS"] ?? "") ?? 5_000

    @Test("two servers on one PostgreSQL database, four workers, random SIGKILLs")
    func postgres() async throws {
        try await Soak(location: try await StoreKind.postgres.freshLocation(), servers: 2).run(jobs: Self.jobs)
    }

    @Test("one server on SQLite, four workers, random SIGKILLs")
    func sqlite() async throws {
        try await Soak(location: try await StoreKind.sqlite.freshLocation(), servers: 1).run(jobs: Self.jobs)
    }
}

private struct Soak {
    let location: StoreLocation
    let ports: [Int]
    let servers: [SoakProcess]
    let workers: [SoakProcess]
    static let apiKey = "sk_soak_0123456789"
    static let queue = "soak"

    init(location: StoreLocation, servers count: Int) throws {
        self.location = location
        let ports = try (0..<count).map { _ in try freePort() }
        self.ports = ports
        servers = ports.enumerated().map { index, port in
            SoakProcess(name: "server-\(index)", executable: "spooled-server",
                        arguments: ["--port", "\(port)", "--api-key", Self.apiKey, "--store", location.description])
        }
        workers = (0..<4).map { index in
            SoakProcess(name: "worker-\(index)", executable: "spooled-worker", arguments: [
                "work", "--port", "\(ports[index % count])", "--api-key", Self.apiKey, "--queue", Self.queue,
                "--worker-id", "w\(index)", "--concurrency", "8", "--lease-seconds", "3", "--fail-percent", "2",
                "--print-outcomes",
            ])
        }
    }

    func start(_ process: SoakProcess) async throws {
        try await process.start(readyWhen: servers.contains { $0 === process } ? "listening on port" : "working queue")
    }

    func run(jobs: Int) async throws {
        for process in servers + workers { try await start(process) }
        let config = try ServiceConfig(json: """
            {"loadBalancingConfig": [{"round_robin": {}}],
             "methodConfig": [{"name": [{"service": "spooled.v1.QueueService"}], "waitForReady": true, "timeout": "20s",
               "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "1s", "backoffMultiplier": 2,
                               "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let target = "ipv4:" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ",")
        let client = GRPCClient(transport: try GRPCChannel(http2: target, defaultServiceConfig: config), serviceConfig: config)
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        let metadata: Metadata = ["x-api-key": .string(Self.apiKey)]

        let stopChaos = Mutex(false)
        let crashes = Mutex(0)
        let chaos = Task {
            while !stopChaos.withLock({ $0 }) {
                try? await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
                guard let victim = (servers + workers).randomElement() else { continue }
                await victim.crash()
                crashes.withLock { $0 += 1 }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 100...600)))
                try? await start(victim)
            }
        }
        // Eight enqueuers; a call that fails even after the channel's retries is made again,
        // which its idempotency key makes safe.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for index in stride(from: lane, to: jobs, by: 8) {
                        var request = Spooled_V1_EnqueueRequest()
                        request.queueName = Self.queue
                        request.payload = #"{"n":\#(index)}"#
                        request.maxRetries = 10
                        request.idempotencyKey = "soak-\(index)"
                        while true {
                            do {
                                _ = try await queue.enqueue(request, metadata: metadata)
                                break
                            } catch {
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var stats = Spooled_V1_GetQueueStatsRequest()
        stats.queueName = Self.queue
        func finished() async -> Int64 {
            guard let counts = try? await queue.getQueueStats(stats, metadata: metadata).message else { return 0 }
            return counts.completed + counts.deadLetter
        }
        // Chaos until most jobs are done, then everyone up again for the rest.
        while await finished() < Int64(jobs) * 9 / 10 { try await Task.sleep(for: .milliseconds(200)) }
        stopChaos.withLock { $0 = true }
        await chaos.value
        for process in servers + workers where !process.isRunning { try await start(process) }
        let deadline = ContinuousClock.now + .seconds(300)
        while await finished() < Int64(jobs) {
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let final = try await queue.getQueueStats(stats, metadata: metadata).message
        await client.close()
        // SIGTERM: each worker drains, finishes what it holds and exits 0, leaving no lease.
        for worker in workers { #expect(await worker.stop() == 0, "\(worker.name) did not stop cleanly") }
        for server in servers { #expect(await server.stop() == 0, "\(server.name) did not drain and exit cleanly") }
        #expect(crashes.withLock { $0 } >= 3, "the soak must actually kill processes")
        #expect(final.completed + final.deadLetter == Int64(jobs), "\(final)")

        // The store's own record.
        let rows = try await querySQL("SELECT count(*), count(DISTINCT id) FROM spooled_jobs", at: location)
        #expect(rows == "\(jobs)|\(jobs)", "every job enqueued exactly once")
        let unfinished = try await querySQL("SELECT count(*) FROM spooled_jobs WHERE status NOT IN (3, 5)", at: location)
        #expect(unfinished == "0", "nothing pending or leased after the workers stopped")
        let completions = try await querySQL(
            "SELECT count(*) FROM spooled_jobs j JOIN spooled_completions c ON c.job_id = j.id WHERE j.status = 3", at: location)
        #expect(completions == "\(final.completed)", "one completion record per completed job")
        let orphans = try await querySQL(
            "SELECT count(*) FROM spooled_completions c JOIN spooled_jobs j ON c.job_id = j.id WHERE j.status <> 3", at: location)
        #expect(orphans == "0")
        let late = try await querySQL("SELECT count(*) FROM spooled_completions WHERE completed_at >= lease_expires_at", at: location)
        #expect(late == "0", "no completion accepted after its lease lapsed")
        let unexplained = try await querySQL("SELECT count(*) FROM spooled_jobs WHERE status = 5 AND last_error IS NULL", at: location)
        #expect(unexplained == "0", "every dead letter has its reason")

        // What the workers were told: one acknowledged completion per job at most, under the
        // token the store recorded.
        var acknowledged: [String: [String]] = [:]
        for output in workers.flatMap(\.outputs) {
            for line in output.split(separator: "\n") where line.hasPrefix("completed ") {
                let parts = line.split(separator: " ")
                guard parts.count == 3 else { continue }
                acknowledged[String(parts[1]), default: []].append(String(parts[2]))
            }
        }
        #expect(acknowledged.values.allSatisfy { $0.count == 1 }, "a job acknowledged as completed twice")
        let recorded = try await querySQL("SELECT job_id || ' ' || lease_token FROM spooled_completions", at: location)
        let tokens = Dictionary(uniqueKeysWithValues: recorded.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ")
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        })
        let mismatched = acknowledged.filter { id, acked in tokens[id] != acked.first }
        #expect(mismatched.isEmpty, "acknowledged completions the store did not record: \(mismatched.prefix(5))")
        #expect(acknowledged.count > jobs / 2, "the workers' outcome lines were read")
        print("soak on \(location): \(jobs) jobs, \(crashes.withLock { $0 }) SIGKILLs, completed \(final.completed), dead-lettered \(final.deadLetter), \(acknowledged.count) completions acknowledged and checked")
    }
}
