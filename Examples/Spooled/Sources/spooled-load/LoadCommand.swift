// Load on a Spooled server through its gRPC API (seed 003's load-test pattern): enqueuers and
// in-process workers for a duration, with a progress line, then throughput and latency; and
// the store's own limit for the same work, without gRPC.
//   spooled-load api --port 50051 --api-key sk_test_demo --duration 20 --concurrency 16 --workers 4
//   spooled-load store-limit --sqlite /tmp/limit.db --tasks 8 --duration 20
//   spooled-load pgbench-script > spooled.pgbench
import ArgumentParser
import Foundation
import Sluice
import SluiceHTTP2
import SpooledAPI
import SpooledQueue
import SpooledWorker
import Synchronization

@main
struct SpooledLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spooled-load", abstract: "Measures Spooled: through its gRPC API, and its store's own limit.",
        subcommands: [APILoad.self, SQLiteLimit.self, PgbenchScript.self], defaultSubcommand: APILoad.self)
}

/// Prints the pgbench script of one job's enqueue, claim and completion.
struct PgbenchScript: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgbench-script", abstract: "Print the pgbench script (-M extended) of the PostgreSQL store's SQL.")

    func run() {
        print(StoreLimit.pgbenchScript(), terminator: "")
    }
}

/// SQLite's own limit: the store's SQL in a tight loop, no gRPC.
struct SQLiteLimit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-limit", abstract: "Enqueue, claim and complete jobs on an SQLite store directly, without gRPC.")

    @Option(help: "The SQLite file (made if missing).") var sqlite: String
    @Option(help: "Concurrent loops.") var tasks = 8
    @Option(help: "Seconds to run.") var duration: Double = 10

    func run() async throws {
        let (jobs, seconds) = try await StoreLimit.sqlite(path: sqlite, tasks: tasks, duration: .seconds(duration))
        print(String(format: "store limit: %d jobs in %.1f s: %.0f jobs/s (enqueue, claim, complete; %d loops)",
                     jobs, seconds, Double(jobs) / seconds, tasks))
    }
}

/// Load through the gRPC API.
struct APILoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Enqueue and work jobs through a Spooled server's gRPC API; report jobs/s and latencies.")

    @Option(help: "Server port.") var port = 50051
    @Option(name: .customLong("api-key"), help: "API key sent as x-api-key.") var apiKey = "sk_test_demo"
    @Option(help: "Queue to load (emptied of nothing: use a fresh one).") var queue = "load"
    @Option(help: "Seconds to enqueue for.") var duration: Double = 10
    @Option(help: "Enqueue calls in flight at once.") var concurrency = 16
    @Option(help: "Enqueues per second in all, at most (0: as fast as the server answers).") var rate: Double = 0
    @Option(help: "Workers (ProcessJobs streams) run in this process.") var workers = 4
    @Option(name: .customLong("worker-concurrency"), help: "Jobs each worker holds at once.") var workerConcurrency = 16

    func run() async throws {
        let target = "ipv4:127.0.0.1:\(port)"
        let enqueueClient = GRPCClient(transport: try GRPCChannel(http2: target))
        let queueClient = Spooled_V1_QueueService.Client(wrapping: enqueueClient)
        let metadata: Metadata = ["x-api-key": .string(apiKey)]
        let enqueueLatencies = Samples()
        let endToEnd = Samples()
        let started = Date()
        let enqueuedAt = Locked<[String: ContinuousClock.Instant]>([:])

        // The workers, each on a connection of its own.
        let stopWorkers = Event()
        var workerClients: [GRPCClient] = []
        var working: [Task<Void, Never>] = []
        for index in 0..<workers {
            let client = GRPCClient(transport: try GRPCChannel(http2: target))
            workerClients.append(client)
            var options = SpooledWorker.Options(queue: queue, workerID: "load-\(index)")
            options.concurrency = workerConcurrency
            let worker = SpooledWorker(client: client, apiKey: apiKey, options: options, onOutcome: { outcome in
                guard case .completed(let id, _) = outcome else { return }
                let now = ContinuousClock.now
                if let at = enqueuedAt.withLock({ $0.removeValue(forKey: id) }) { endToEnd.add(now - at) }
            }) { _ in "{}" }
            working.append(Task { await worker.run { await stopWorkers.wait() } })
        }

        let end = ContinuousClock.now + .seconds(duration)
        let interval: Duration? = rate > 0 ? .seconds(Double(concurrency) / rate) : nil
        let errors = Locked(0)
        let progress = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let elapsed = Date().timeIntervalSince(started)
                FileHandle.standardError.write(Data(String(
                    format: "\r%5.1f s: %d enqueued (%.0f/s), %d completed (%.0f/s), %d errors   ",
                    elapsed, enqueueLatencies.count, Double(enqueueLatencies.count) / elapsed,
                    endToEnd.count, Double(endToEnd.count) / elapsed, errors.withLock { $0 }).utf8))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    var next = ContinuousClock.now
                    var n = 0
                    while ContinuousClock.now < end {
                        if let interval {
                            try await Task.sleep(until: next)
                            next += interval
                        }
                        var request = Spooled_V1_EnqueueRequest()
                        request.queueName = queue
                        request.payload = #"{"lane":\#(lane),"n":\#(n)}"#
                        n += 1
                        let sent = ContinuousClock.now
                        do {
                            let response = try await queueClient.enqueue(request, metadata: metadata)
                            let now = ContinuousClock.now
                            enqueueLatencies.add(now - sent)
                            enqueuedAt.withLock { $0[response.message.jobID] = sent }
                        } catch {
                            errors.withLock { $0 += 1 }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let enqueueSeconds = Date().timeIntervalSince(started)
        // Let the workers finish what was enqueued (up to a minute).
        let drainEnd = ContinuousClock.now + .seconds(60)
        while enqueuedAt.withLock({ !$0.isEmpty }) && ContinuousClock.now < drainEnd {
            try await Task.sleep(for: .milliseconds(50))
        }
        let totalSeconds = Date().timeIntervalSince(started)
        progress.cancel()
        stopWorkers.set()
        for task in working { await task.value }
        for client in workerClients { await client.close() }
        await enqueueClient.close()
        FileHandle.standardError.write(Data("\n".utf8))
        print(String(format: "enqueued %d jobs in %.1f s: %.0f jobs/s (%d errors)", enqueueLatencies.count, enqueueSeconds,
                     Double(enqueueLatencies.count) / enqueueSeconds, errors.withLock { $0 }))
        print(String(format: "completed %d jobs in %.1f s: %.0f jobs/s end to end", endToEnd.count, totalSeconds,
                     Double(endToEnd.count) / totalSeconds))
        print("enqueue latency:      \(enqueueLatencies.summary)")
        print("enqueue-to-completion: \(endToEnd.summary)")
    }
}

/// A value shared by the load's tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

/// Durations collected from many tasks, summarized as seed 003's load tests report them.
final class Samples: Sendable {
    private let values = Mutex<[Duration]>([])

    func add(_ value: Duration) { values.withLock { $0.append(value) } }

    var count: Int { values.withLock { $0.count } }

    /// count, mean, min, max, p50, p95, p99, in milliseconds.
    var summary: String {
        let sorted = values.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return "no samples" }
        func ms(_ duration: Duration) -> String { String(format: "%.2f", duration.milliseconds) }
        func percentile(_ p: Double) -> Duration { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let mean = sorted.reduce(Duration.zero, +) / sorted.count
        return "count \(sorted.count), mean \(ms(mean)), min \(ms(sorted[0])), max \(ms(sorted[sorted.count - 1])), "
            + "p50 \(ms(percentile(0.5))), p95 \(ms(percentile(0.95))), p99 \(ms(percentile(0.99))) ms"
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
