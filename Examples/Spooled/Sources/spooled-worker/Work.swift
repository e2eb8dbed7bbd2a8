// The worker as a service: processes a queue until SIGTERM, then stops gracefully.
import ArgumentParser
import Foundation
import Logging
import UnixSignals
import Sluice
import SluiceHTTP2
import SpooledAPI
import SpooledWorker

struct Work: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process a queue until SIGTERM or SIGINT, then finish or fail the jobs held and exit.")

    @OptionGroup var server: ServerOptions
    @Option(help: "The queue to work.") var queue = "emails"
    @Option(name: .customLong("worker-id"), help: "The worker's id (default: worker-PID).") var workerID: String?
    @Option(help: "Jobs run at once.") var concurrency = 4
    @Option(name: .customLong("lease-seconds"), help: "Lease asked for each job.") var leaseSeconds: Int32 = 30
    @Option(name: .customLong("work-ms"), help: "Simulated work per job, in milliseconds.") var workMilliseconds = 0
    @Option(name: .customLong("fail-percent"), help: "Fail this share of jobs, to exercise retries.") var failPercent = 0
    @Flag(name: .customLong("print-outcomes"), help: "Print one line per acknowledged job: completed ID TOKEN, failed ID, refused ID.")
    var printOutcomes = false

    func run() async throws {
        var logger = Logger(label: "spooled-worker") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .notice
        let (channel, etcd) = try server.channel()
        let client = GRPCClient(transport: channel)
        var options = SpooledWorker.Options(queue: queue, workerID: workerID ?? "worker-\(getpid())")
        options.concurrency = concurrency
        options.leaseSeconds = leaseSeconds
        let print = printOutcomes
        let work = Duration.milliseconds(workMilliseconds)
        let failPercent = self.failPercent
        let worker = SpooledWorker(client: client, apiKey: server.apiKey, options: options, logger: logger, onOutcome: { outcome in
            guard print else { return }
            switch outcome {
            case .completed(let id, let token): say("completed \(id) \(token)")
            case .failed(let id, let willRetry): say("failed \(id) \(willRetry ? "retry" : "dead")")
            case .refused(let id, let reason): say("refused \(id) \(reason)")
            }
        }) { job in
            if work > .zero { try await Task.sleep(for: work) }
            if failPercent > 0, Int.random(in: 0..<100) < failPercent { throw WorkError.simulated }
            return #"{"ok":true}"#
        }
        say("spooled-worker \(options.workerID) working queue \(queue) on \(server.target ?? "port \(server.port)")")
        await worker.run {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { return }
        }
        await client.close()
        await etcd?.close()
        say("spooled-worker \(options.workerID) stopped")
    }
}

enum WorkError: Error, CustomStringConvertible {
    case simulated
    var description: String { "simulated failure" }
}
