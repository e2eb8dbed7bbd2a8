import Foundation
import SeedServices
import Sluice
import SluiceProto

/// Spooled's jobs in memory: priority queues per queue name, leases, retries with a
/// dead-letter state, idempotent enqueues. (An SQLite and PostgreSQL store come later; this
/// one defines the semantics they keep.)
public actor JobStore {
    private var jobs: [String: Spooled_V1_Job] = [:]
    private var order: [String] = []  // enqueue order, for ties in priority
    private var idempotencyKeys: [String: String] = [:]
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var nextID = 1
    private let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    /// Adds a job; an idempotency key already seen returns that job instead.
    public func enqueue(_ request: Spooled_V1_EnqueueRequest) -> (id: String, created: Bool) {
        if !request.idempotencyKey.isEmpty, let existing = idempotencyKeys[request.idempotencyKey] {
            return (existing, false)
        }
        var job = Spooled_V1_Job()
        job.id = String(format: "job_%06d", nextID)
        nextID += 1
        job.queueName = request.queueName
        job.payload = request.payload
        job.priority = request.priority
        job.maxRetries = request.maxRetries
        job.status = .pending
        job.createdAt = Google_Protobuf_Timestamp(date: clock())
        job.tags = request.tags
        jobs[job.id] = job
        order.append(job.id)
        if !request.idempotencyKey.isEmpty { idempotencyKeys[request.idempotencyKey] = job.id }
        wake(queue: request.queueName)
        return (job.id, true)
    }

    /// Leases up to `limit` pending jobs of `queue`, highest priority first. Jobs whose lease
    /// expired go back to pending first.
    public func dequeue(queue: String, worker: String, limit: Int, leaseSeconds: Int) -> [Spooled_V1_Job] {
        reclaimExpiredLeases()
        let now = clock()
        let candidates = order.compactMap { jobs[$0] }
            .filter { $0.queueName == queue && $0.status == .pending }
            .enumerated()
            .sorted { ($0.element.priority, -$0.offset) > ($1.element.priority, -$1.offset) }
            .prefix(max(limit, 0))
        return candidates.map { candidate in
            var job = candidate.element
            job.status = .processing
            job.workerID = worker
            job.leaseExpiresAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(TimeInterval(max(leaseSeconds, 1))))
            jobs[job.id] = job
            return job
        }
    }

    /// The next job of `queue`, waiting until there is one; nil if the waiting task is cancelled.
    public func next(queue: String, worker: String, leaseSeconds: Int) async -> Spooled_V1_Job? {
        while !Task.isCancelled {
            if let job = dequeue(queue: queue, worker: worker, limit: 1, leaseSeconds: leaseSeconds).first { return job }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    waiters[queue, default: []].append(continuation)
                }
            } onCancel: {
                Task { await self.wakeAll() }
            }
        }
        return nil
    }

    public func complete(jobID: String, result: String) throws -> Spooled_V1_Job {
        var job = try processingJob(jobID)
        job.status = .completed
        job.clearLeaseExpiresAt()
        jobs[jobID] = job
        return job
    }

    /// Records a failure: back to pending while retries remain, else dead-lettered.
    public func fail(jobID: String, error: String) throws -> (job: Spooled_V1_Job, willRetry: Bool) {
        var job = try processingJob(jobID)
        job.retryCount += 1
        let willRetry = job.retryCount <= job.maxRetries
        job.status = willRetry ? .pending : .deadLetter
        job.clearLeaseExpiresAt()
        job.workerID = ""
        jobs[jobID] = job
        if willRetry { wake(queue: job.queueName) }
        return (job, willRetry)
    }

    public func renewLease(jobID: String, seconds: Int) throws -> Spooled_V1_Job {
        var job = try processingJob(jobID)
        job.leaseExpiresAt = Google_Protobuf_Timestamp(date: clock().addingTimeInterval(TimeInterval(max(seconds, 1))))
        jobs[jobID] = job
        return job
    }

    public func stats(queue: String) -> Spooled_V1_QueueStats {
        var stats = Spooled_V1_QueueStats()
        stats.queueName = queue
        for job in jobs.values where job.queueName == queue {
            switch job.status {
            case .pending: stats.pending += 1
            case .processing: stats.processing += 1
            case .completed: stats.completed += 1
            case .failed, .deadLetter: stats.failed += 1
            default: break
            }
        }
        return stats
    }

    private func processingJob(_ id: String) throws -> Spooled_V1_Job {
        guard let job = jobs[id] else { throw RPCError(code: .notFound, message: "job \(id) not found") }
        guard job.status == .processing else {
            throw RPCError(code: .failedPrecondition, message: "job \(id) is not being processed")
        }
        return job
    }

    private func reclaimExpiredLeases() {
        let now = Google_Protobuf_Timestamp(date: clock())
        for (id, job) in jobs where job.status == .processing && job.hasLeaseExpiresAt && job.leaseExpiresAt < now {
            var reclaimed = job
            reclaimed.status = .pending
            reclaimed.workerID = ""
            reclaimed.clearLeaseExpiresAt()
            jobs[id] = reclaimed
        }
    }

    private func wake(queue: String) {
        let waiting = waiters.removeValue(forKey: queue) ?? []
        for waiter in waiting { waiter.resume() }
    }

    private func wakeAll() {
        let all = waiters.values.flatMap { $0 }
        waiters = [:]
        for waiter in all { waiter.resume() }
    }
}
