import Foundation
import Logging
import Sluice
import SluiceProto
import SpooledAPI
import Synchronization

/// A Spooled worker: holds a ProcessJobs stream open, runs up to ``Options/concurrency`` jobs at
/// once, heartbeats so the server renews their leases while they run, and reconnects (with
/// backoff) when the stream or the server goes away.
///
/// Completions and failures carry the job's lease token. A job whose stream ended before its
/// completion was sent (the server restarted mid-job) is not completed: its lease lapses and
/// the reaper requeues it, so it runs again (at-least-once delivery, as every lease-based
/// queue); a completion that reaches the server after the lease lapsed is refused.
///
/// ``run(until:)`` ends when its shutdown signal fires: the worker asks for no more jobs
/// (`drain`), waits for the server's `drained` (every job it will get has come), finishes or
/// fails what it holds, and half-closes; jobs still running after ``Options/shutdownGrace`` are
/// failed, so their retries start at once.
public final class SpooledWorker: Sendable {
    /// How the worker works.
    public struct Options: Sendable {
        /// The queue worked.
        public var queue: String
        /// The worker's id, recorded with each lease.
        public var workerID: String
        /// Jobs run at once (the stream's `max_concurrent`).
        public var concurrency: Int = 4
        /// The lease asked for each job.
        public var leaseSeconds: Int32 = 30
        /// How often leases are renewed; a third of the lease by default.
        public var heartbeat: Duration?
        /// How long a stop waits for running jobs before failing them.
        public var shutdownGrace: Duration = .seconds(10)
        /// The first and the longest pause before reconnecting.
        public var reconnectBackoff: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(2))

        /// Work `queue` as `workerID`, with the defaults above.
        public init(queue: String, workerID: String) {
            self.queue = queue
            self.workerID = workerID
        }
    }

    /// What became of one job, as the server acknowledged it.
    public enum Outcome: Sendable, Equatable {
        case completed(jobID: String, leaseToken: String)
        case failed(jobID: String, willRetry: Bool)
        /// The server refused the completion or failure (the lease had lapsed).
        case refused(jobID: String, reason: String)
    }

    /// What a job's handler returns: its result, or an error that fails the job.
    public typealias Handler = @Sendable (Spooled_V1_Job) async throws -> String

    private let client: Spooled_V1_WorkerService.Client
    private let metadata: Metadata
    private let options: Options
    private let handler: Handler
    private let onOutcome: @Sendable (Outcome) -> Void
    private let logger: Logger

    /// A worker calling through `client` with `apiKey`; `handler` runs each job.
    /// - Parameters:
    ///   - logger: Where reconnects are logged (nowhere unless given).
    ///   - onOutcome: Told each acknowledgement, as it comes (the soak test's record of what
    ///     the server accepted).
    public init(client: GRPCClient, apiKey: String, options: Options,
                logger: Logger = Logger(label: "spooled.worker", factory: { _ in SwiftLogNoOpLogHandler() }),
                onOutcome: @escaping @Sendable (Outcome) -> Void = { _ in }, handler: @escaping Handler) {
        self.client = Spooled_V1_WorkerService.Client(wrapping: client)
        self.metadata = ["x-api-key": .string(apiKey)]
        self.options = options
        self.handler = handler
        self.onOutcome = onOutcome
        self.logger = logger
    }

    /// Works until `shutdown` returns, then stops gracefully. A cancelled task stops at once
    /// (its leases expire).
    public func run(until shutdown: @escaping @Sendable () async -> Void) async {
        let stopping = Event()
        let watcher = Task {
            await shutdown()
            stopping.set()
        }
        defer { watcher.cancel() }
        var backoff = options.reconnectBackoff.initial
        while !stopping.isSet && !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await session(stopping)
                if stopping.isSet { return }
            } catch {
                if stopping.isSet || Task.isCancelled { return }
                logger.info("ProcessJobs ended; reconnecting", metadata: ["error": "\(error)", "in": "\(backoff)"])
            }
            // A stream that lasted a while starts the backoff over.
            if ContinuousClock.now - started > .seconds(5) { backoff = options.reconnectBackoff.initial }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, options.reconnectBackoff.maximum)
        }
    }

    /// One ProcessJobs stream, until it ends or the worker has stopped.
    private func session(_ stopping: Event) async throws {
        let call = try await client.processJobs(metadata: metadata, options: .defaults)
        var subscribe = Spooled_V1_WorkerMessage()
        subscribe.subscribe.queueName = options.queue
        subscribe.subscribe.workerID = options.workerID
        subscribe.subscribe.leaseDurationSecs = options.leaseSeconds
        subscribe.subscribe.maxConcurrent = Int32(options.concurrency)
        try await call.requests.send(subscribe)
        let running = RunningJobs()
        let heartbeatEvery = options.heartbeat ?? .seconds(Double(options.leaseSeconds) / 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: heartbeatEvery)
                    var heartbeat = Spooled_V1_WorkerMessage()
                    heartbeat.heartbeat.workerID = self.options.workerID
                    try await call.requests.send(heartbeat)
                }
            }
            group.addTask {
                // On shutdown: no more jobs, then half-close once what runs is done.
                await stopping.wait()
                guard !Task.isCancelled else { return }
                var drain = Spooled_V1_WorkerMessage()
                drain.drain = Spooled_V1_DrainRequest()
                try? await call.requests.send(drain)
                await running.waitForDrained()
                let grace = Task {
                    try await Task.sleep(for: self.options.shutdownGrace)
                    running.cancelAll()
                }
                await running.waitUntilEmpty()
                grace.cancel()
                call.requests.finish()
            }
            for try await message in call.responses {
                switch message.message {
                case .job(let job)?:
                    running.start(job.id, token: job.leaseToken) { [self] in await self.work(job, call.requests) }
                case .completeAck(let ack)?:
                    let outcome: Outcome = ack.success ? .completed(jobID: ack.jobID, leaseToken: running.token(ack.jobID))
                        : .refused(jobID: ack.jobID, reason: ack.error)
                    running.acknowledged(ack.jobID)
                    onOutcome(outcome)
                case .failAck(let ack)?:
                    running.acknowledged(ack.jobID)
                    onOutcome(ack.success ? .failed(jobID: ack.jobID, willRetry: ack.willRetry) : .refused(jobID: ack.jobID, reason: ack.error))
                case .drained?:
                    running.drained()
                case .heartbeatAck?, nil:
                    break
                }
            }
            group.cancelAll()
        }
    }

    /// Runs the handler and reports how it went.
    private func work(_ job: Spooled_V1_Job, _ requests: RequestWriter<Spooled_V1_WorkerMessage>) async {
        var reply = Spooled_V1_WorkerMessage()
        do {
            let result = try await handler(job)
            reply.complete.jobID = job.id
            reply.complete.leaseToken = job.leaseToken
            reply.complete.result = result
        } catch {
            reply.fail.jobID = job.id
            reply.fail.leaseToken = job.leaseToken
            reply.fail.error = error is CancellationError ? "the worker stopped before the job finished" : "\(error)"
        }
        // The stream may be gone; the lease then lapses and the job is requeued.
        try? await requests.send(reply)
    }
}

/// A one-way flag that tasks can wait for; a waiting task that is cancelled stops waiting
/// (which Sluice's `OneShot` does not: the worker's drain waits end with their stream).
public final class Event: Sendable {
    private struct State {
        var isSet = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// A flag not yet set.
    public init() {}

    /// Whether ``set()`` was called.
    public var isSet: Bool { state.withLock { $0.isSet } }

    /// Sets the flag and wakes every waiter.
    public func set() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isSet = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the flag is set, or the task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            defer { state.next += 1 }
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.isSet || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// The jobs a stream is running: their tasks, until the server acknowledges each.
private final class RunningJobs: Sendable {
    private struct State {
        var tasks: [String: Task<Void, Never>] = [:]
        var tokens: [String: String] = [:]
        var empty = Event()
    }

    private let state = Mutex(State())
    private let drainedEvent = Event()

    init() {
        state.withLock { $0.empty.set() }
    }

    func start(_ id: String, token: String, _ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        state.withLock { state in
            if state.tasks.isEmpty { state.empty = Event() }
            state.tasks[id] = task
            state.tokens[id] = token
        }
    }

    /// The token a job ran under (for the outcome record).
    func token(_ id: String) -> String { state.withLock { $0.tokens[id] ?? "" } }

    func acknowledged(_ id: String) {
        let empty = state.withLock { state -> Event? in
            state.tasks.removeValue(forKey: id)
            state.tokens.removeValue(forKey: id)
            return state.tasks.isEmpty ? state.empty : nil
        }
        empty?.set()
    }

    func cancelAll() {
        for task in state.withLock({ Array($0.tasks.values) }) { task.cancel() }
    }

    /// The server's `drained` came: no job will follow.
    func drained() { drainedEvent.set() }

    func waitForDrained() async { await drainedEvent.wait() }

    /// Returns once every job was acknowledged (or the task is cancelled).
    func waitUntilEmpty() async {
        await state.withLock { $0.empty }.wait()
    }
}
