import Foundation

/// Leases jobs to a streaming worker as they become ready, without polling the store in a
/// loop: it claims, and when nothing is ready it sleeps until the queue's ``JobSignal`` fires
/// (an enqueue, a retry, a reaped lease, here or, on PostgreSQL, in another server), until the
/// next scheduled job is due, or at the latest after ``fallbackPoll``, a safety net for a
/// notification lost with a dropped connection.
public struct JobDelivery: Sendable {
    /// Where jobs are claimed.
    public let store: any JobStore
    /// The longest sleep without a wake-up.
    public var fallbackPoll: Duration

    /// Deliveries from `store`.
    public init(store: any JobStore, fallbackPoll: Duration = .seconds(5)) {
        self.store = store
        self.fallbackPoll = fallbackPoll
    }

    /// Up to `limit` jobs of `queue` leased to `worker`, waiting until there is at least one.
    /// - Parameter stopped: Asked before each claim; once it says true, `next` returns no jobs
    ///   instead of claiming or waiting on. A caller that sets it notifies the queue's
    ///   ``JobSignal`` to end a wait at once. Unlike cancellation, it never interrupts a claim
    ///   the store may already have committed.
    /// - Throws: `CancellationError` when the task is cancelled; the store's errors.
    public func next(_ queue: QueueID, worker: String, limit: Int, lease: Duration,
                     stopped: @Sendable () -> Bool = { false }) async throws -> [StoredJob] {
        while true {
            try Task.checkCancellation()
            if stopped() { return [] }
            // Read before the claim, so a notification between the claim and the wait counts.
            let seen = store.signal.generation(of: queue)
            let jobs = try await store.claim(queue, worker: worker, limit: limit, lease: lease)
            if !jobs.isEmpty { return jobs }
            var wait = fallbackPoll
            if let due = try await store.nextReadyTime(queue) {
                wait = min(wait, .milliseconds(max(Int64(due.timeIntervalSinceNow * 1000), 1)))
            }
            await store.signal.wait(queue, after: seen, timeout: wait)
        }
    }
}
