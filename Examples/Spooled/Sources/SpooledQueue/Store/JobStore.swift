import Foundation

/// Where Spooled keeps its jobs: SQLite (``SQLiteJobStore``, embedded, one server process) or
/// PostgreSQL (``PostgresJobStore``, several server processes on one database).
///
/// Both implement the same semantics, which `StoreSemanticsTests` checks on each:
/// - an enqueue with an idempotency key already used in that tenant's queue returns the job
///   made then, with `created == false`;
/// - ``claim(_:worker:limit:lease:)`` leases ready jobs by priority (highest first), then by
///   enqueue order, and never leases one job to two workers at once;
/// - ``complete(_:lease:result:)``, ``fail(_:lease:error:)`` and ``renew(_:lease:for:)`` are
///   accepted only with the token of the lease in force, before it expires;
/// - ``reapExpiredLeases()`` puts jobs whose lease lapsed back in line (or in the dead-letter
///   state when out of retries), so a worker that dies loses nothing.
///
/// Times come from the store's clock (``JobStoreOptions/clock``), so tests can move it.
public protocol JobStore: Sendable {
    /// Adds a job, or finds the one its idempotency key already made.
    func enqueue(_ job: NewJob) async throws -> EnqueueOutcome
    /// Leases up to `limit` ready jobs of `queue` to `worker` for `lease`.
    func claim(_ queue: QueueID, worker: String, limit: Int, lease: Duration) async throws -> [StoredJob]
    /// Marks a leased job completed and records who completed it.
    func complete(_ job: JobRef, lease: String, result: String) async throws
    /// Records a failure: the job waits for a retry after a backoff, or is dead-lettered.
    func fail(_ job: JobRef, lease: String, error: String) async throws -> FailOutcome
    /// Extends a live lease; returns the new expiry.
    func renew(_ job: JobRef, lease: String, for duration: Duration) async throws -> Date
    /// Extends several live leases at once (a worker's heartbeat); returns how many it renewed.
    func renewAll(_ leases: [(job: JobRef, lease: String)], for duration: Duration) async throws -> Int
    /// A job as stored now.
    func job(_ job: JobRef) async throws -> StoredJob
    /// The queue's jobs counted by status.
    func counts(_ queue: QueueID) async throws -> QueueCounts
    /// Requeues (or dead-letters) every job whose lease has expired; returns the queues touched.
    func reapExpiredLeases() async throws -> Set<QueueID>
    /// When the queue's next job that is not ready yet becomes ready, if it has one.
    func nextReadyTime(_ queue: QueueID) async throws -> Date?
    /// Wakes the deliveries waiting on a queue when jobs become ready, in this process and, for
    /// PostgreSQL, in every server process on the database.
    var signal: JobSignal { get }
    /// Releases the store's connections.
    func close() async
}

/// A tenant's queue: queues are per tenant, so two tenants' "emails" never meet.
public struct QueueID: Hashable, Sendable, CustomStringConvertible {
    /// The tenant, named by the API key's configuration.
    public var tenant: String
    /// The queue's name, as requests give it.
    public var name: String

    /// The queue `name` of `tenant`.
    public init(tenant: String, name: String) {
        self.tenant = tenant
        self.name = name
    }

    /// `tenant/name`, as the PostgreSQL store's notifications carry it.
    public var description: String { "\(tenant)/\(name)" }
}

/// A job as the API names it: a tenant and the id the store gave it. A job of another tenant is
/// not found.
public struct JobRef: Hashable, Sendable, CustomStringConvertible {
    /// The tenant the job belongs to.
    public var tenant: String
    /// The store's id for it.
    public var id: Int64

    /// Job `id` of `tenant`.
    public init(tenant: String, id: Int64) {
        self.tenant = tenant
        self.id = id
    }

    /// The job id of the API: the store's row id in decimal.
    public var description: String { String(id) }
}

/// What an enqueue asks for.
public struct NewJob: Sendable {
    /// Where it goes.
    public var queue: QueueID
    /// What the worker gets: JSON, as seed 004's clients send it.
    public var payload: String
    /// Higher first.
    public var priority: Int32
    /// Failures (and lapsed leases) allowed before the job is dead-lettered.
    public var maxRetries: Int32
    /// Empty: no deduplication.
    public var idempotencyKey: String
    /// Not before this time; nil: at once.
    public var scheduledAt: Date?
    /// Labels stored and returned with the job.
    public var tags: [String: String]

    /// A job for `queue`; by default ready at once, without deduplication.
    public init(queue: QueueID, payload: String, priority: Int32 = 0, maxRetries: Int32 = 3,
                idempotencyKey: String = "", scheduledAt: Date? = nil, tags: [String: String] = [:]) {
        self.queue = queue
        self.payload = payload
        self.priority = priority
        self.maxRetries = maxRetries
        self.idempotencyKey = idempotencyKey
        self.scheduledAt = scheduledAt
        self.tags = tags
    }
}

/// A job's states, numbered as `spooled.v1.JobStatus`.
public enum StoredJobStatus: Int, Sendable, CaseIterable {
    /// Waiting for a worker, or for its scheduled time.
    case pending = 1
    /// Leased to a worker.
    case processing = 2
    /// Done, with its completion record.
    case completed = 3
    /// Failed, waiting for its retry's backoff.
    case failed = 4
    /// Out of retries, kept with its last error.
    case deadLetter = 5
}

/// A job as the store holds it.
public struct StoredJob: Sendable, Equatable {
    /// Its tenant and id.
    public var ref: JobRef
    public var queue: QueueID
    public var payload: String
    public var priority: Int32
    public var maxRetries: Int32
    /// Failures and lapsed leases so far.
    public var retryCount: Int32
    public var status: StoredJobStatus
    /// When it was enqueued.
    public var createdAt: Date
    /// When it is (or was) ready: its scheduled time, or the end of a retry's backoff.
    public var readyAt: Date
    public var tags: [String: String]
    /// The lease in force, while ``status`` is ``StoredJobStatus/processing``.
    public var lease: Lease?
    /// The last failure's error, or why its lease lapsed.
    public var lastError: String?

    /// Who holds a job, until when, and the token that proves it.
    public struct Lease: Sendable, Equatable {
        /// The worker id the job was leased to.
        public var worker: String
        /// The secret that Complete, Fail and RenewLease must show.
        public var token: String
        public var expiresAt: Date
    }
}

/// What ``JobStore/enqueue(_:)`` did.
public struct EnqueueOutcome: Sendable {
    /// The job made, or the one the idempotency key had made.
    public var job: StoredJob
    /// False when the idempotency key had made this job before.
    public var created: Bool
}

/// What ``JobStore/fail(_:lease:error:)`` did.
public struct FailOutcome: Sendable {
    /// True: the job waits for a retry until ``readyAt``; false: it is dead-lettered.
    public var willRetry: Bool
    /// When the retry may run; nil when dead-lettered.
    public var readyAt: Date?
}

/// A queue's jobs by status.
public struct QueueCounts: Sendable, Equatable {
    public var pending: Int64 = 0
    public var processing: Int64 = 0
    public var completed: Int64 = 0
    /// Failed and waiting for a retry.
    public var failed: Int64 = 0
    public var deadLetter: Int64 = 0

    /// All zero.
    public init() {}

    mutating func add(_ status: StoredJobStatus, _ count: Int64) {
        switch status {
        case .pending: pending += count
        case .processing: processing += count
        case .completed: completed += count
        case .failed: failed += count
        case .deadLetter: deadLetter += count
        }
    }
}

/// Why the store refused an operation; the services map each to a gRPC status.
public enum JobStoreError: Error, Equatable, CustomStringConvertible {
    /// No such job in the tenant (NOT_FOUND).
    case notFound(JobRef)
    /// The job is not leased under this token: completed, requeued, or leased to someone else
    /// (FAILED_PRECONDITION).
    case notLeaseHolder(JobRef, status: StoredJobStatus)
    /// The lease was this caller's but has expired (FAILED_PRECONDITION).
    case leaseExpired(JobRef)
    /// The database holds a schema this binary does not know.
    case schemaTooNew(found: Int, supported: Int)
    /// The store could not be reached or answered with an error.
    case unavailable(String)

    public var description: String {
        switch self {
        case .notFound(let job): return "job \(job) not found"
        case .notLeaseHolder(let job, let status):
            return "job \(job) is not leased under this token (it is \(status))"
        case .leaseExpired(let job): return "the lease on job \(job) has expired"
        case .schemaTooNew(let found, let supported):
            return "the store's schema is version \(found), newer than this server's \(supported): upgrade spooled-server"
        case .unavailable(let reason): return "the store is unavailable: \(reason)"
        }
    }
}

/// Settings both stores share.
public struct JobStoreOptions: Sendable {
    /// The store's clock.
    public var clock: @Sendable () -> Date
    /// The backoff before a failed job's next attempt: `initial * multiplier^(retry - 1)`,
    /// capped at `maximum`.
    public var retryBackoff: RetryBackoff

    /// The system clock and a backoff of 1 s doubling to 5 min, unless told otherwise.
    public init(clock: @escaping @Sendable () -> Date = Date.init, retryBackoff: RetryBackoff = RetryBackoff()) {
        self.clock = clock
        self.retryBackoff = retryBackoff
    }
}

/// Exponential backoff between a job's attempts.
public struct RetryBackoff: Sendable, Equatable {
    /// The delay after the first failure.
    public var initial: Duration
    /// What each further failure multiplies it by.
    public var multiplier: Double
    /// The longest delay.
    public var maximum: Duration

    /// 1 s, doubling, at most 5 min, unless told otherwise.
    public init(initial: Duration = .seconds(1), multiplier: Double = 2, maximum: Duration = .seconds(300)) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
    }

    /// The delay before attempt `retry + 1`, after `retry` failures (1 or more).
    public func delay(afterFailure retry: Int32) -> Duration {
        let exponent = Double(max(retry - 1, 0))
        let seconds = initial.seconds * pow(multiplier, exponent)
        return seconds >= maximum.seconds ? maximum : .seconds(seconds)
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Date {
    /// Microseconds since 1970: how both stores keep times, exactly and comparable in SQL.
    var microseconds: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }

    init(microseconds: Int64) {
        self.init(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.seconds) }
}
