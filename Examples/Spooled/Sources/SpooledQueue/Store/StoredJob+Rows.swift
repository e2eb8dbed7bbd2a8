import Foundation

// What both stores do with the columns they read back: the same decisions from the same
// values, whichever database produced them.

extension StoredJob {
    /// A job from its `JobSQL.jobColumns`.
    init(id: Int64, tenant: String, queue: String, payload: String, priority: Int, maxRetries: Int,
         retryCount: Int, status: Int, tags: String, createdAt: Int64, readyAt: Int64,
         leaseWorker: String?, leaseToken: String?, leaseExpiresAt: Int64?, lastError: String?) throws {
        guard let status = StoredJobStatus(rawValue: status) else {
            throw JobStoreError.unavailable("job \(id) has an unknown status \(status)")
        }
        self.ref = JobRef(tenant: tenant, id: id)
        self.queue = QueueID(tenant: tenant, name: queue)
        self.payload = payload
        self.priority = Int32(clamping: priority)
        self.maxRetries = Int32(clamping: maxRetries)
        self.retryCount = Int32(clamping: retryCount)
        self.status = status
        self.createdAt = Date(microseconds: createdAt)
        self.readyAt = Date(microseconds: readyAt)
        self.tags = try decodeTags(tags)
        if status == .processing, let leaseWorker, let leaseToken, let leaseExpiresAt {
            lease = Lease(worker: leaseWorker, token: leaseToken, expiresAt: Date(microseconds: leaseExpiresAt))
        } else {
            lease = nil
        }
        self.lastError = lastError
    }
}

/// A job's lease columns, read when an operation under a lease matched no row.
struct LeaseState {
    var status: Int
    var token: String?
    var expiresAt: Int64?

    /// Why `lease` does not hold `job` at `now`.
    func refusal(_ job: JobRef, lease: String, now: Int64) -> JobStoreError {
        let status = StoredJobStatus(rawValue: status) ?? .pending
        if status == .processing, token == lease, let expiresAt, expiresAt <= now { return .leaseExpired(job) }
        return .notLeaseHolder(job, status: status)
    }
}

extension FailOutcome {
    /// After the `retries`-th failure of a job allowed `maxRetries`: another attempt after the
    /// backoff, or the dead-letter state.
    static func after(_ retries: Int32, of maxRetries: Int32, now: Date, backoff: RetryBackoff) -> FailOutcome {
        guard retries <= maxRetries else { return FailOutcome(willRetry: false, readyAt: nil) }
        return FailOutcome(willRetry: true, readyAt: now.adding(backoff.delay(afterFailure: retries)))
    }
}

/// Tags as a JSON object with sorted keys: stable text for equal maps.
func encodeTags(_ tags: [String: String]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: try encoder.encode(tags), as: UTF8.self)
}

func decodeTags(_ text: String) throws -> [String: String] {
    do {
        return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    } catch {
        throw JobStoreError.unavailable("unreadable tags \(text.prefix(40))")
    }
}
