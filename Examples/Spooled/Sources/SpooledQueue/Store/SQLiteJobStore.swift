import Foundation
import GRDB

/// Spooled's jobs in an SQLite file, through GRDB: the embedded store, for one server process.
///
/// GRDB's `DatabasePool` puts the database in WAL mode (readers never wait for the writer)
/// and runs every access on its own dispatch queues, so no thread of Swift's cooperative pool
/// waits on SQLite. Writes are serialized on one connection, which is also SQLite's own rule;
/// another process that opens the file (a backup, an inspection) makes a write wait up to 10 s
/// for its turn (the busy timeout) instead of failing it.
public final class SQLiteJobStore: JobStore {
    public let signal = JobSignal()
    private let pool: DatabasePool
    private let options: JobStoreOptions
    private let claimSQL = JobSQL.claim(.sqlite)
    private let leasedForUpdateSQL = JobSQL.leasedForUpdate(.sqlite)

    /// Opens (or creates) the database at `path` and migrates it to this binary's schema.
    /// - Throws: ``JobStoreError/schemaTooNew(found:supported:)`` for a database written by a
    ///   newer Spooled; GRDB's errors for a file that is not an SQLite database.
    public init(path: String, options: JobStoreOptions = JobStoreOptions()) async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "spooled"
        let configured = configuration
        pool = try await Self.offCooperativePool { try DatabasePool(path: path, configuration: configured) }
        self.options = options
        try await pool.write { db in
            try db.execute(sql: JobSQL.createVersionTable)
            let found = try Int.fetchOne(db, sql: JobSQL.readVersion) ?? 0
            guard found <= JobSQL.schemaVersion else {
                throw JobStoreError.schemaTooNew(found: found, supported: JobSQL.schemaVersion)
            }
            for (index, statements) in JobSQL.migrations(.sqlite).enumerated() where index + 1 > found {
                for statement in statements { try db.execute(sql: statement) }
                try db.execute(sql: JobSQL.recordVersion, arguments: [index + 1])
            }
        }
    }

    public func enqueue(_ job: NewJob) async throws -> EnqueueOutcome {
        let now = options.clock().microseconds
        let tags = try encodeTags(job.tags)
        let key = job.idempotencyKey.isEmpty ? nil : job.idempotencyKey
        let outcome = try await pool.write { db -> EnqueueOutcome in
            let arguments = Self.arguments([
                .text(job.queue.tenant), .text(job.queue.name), .text(job.payload), .int(job.priority),
                .int(job.maxRetries), .text(key), .text(tags), .int(now), .int(job.scheduledAt?.microseconds ?? now),
            ])
            if let row = try Row.fetchOne(db, sql: JobSQL.insert, arguments: arguments) {
                return EnqueueOutcome(job: try Self.job(row), created: true)
            }
            let existing = try Row.fetchOne(db, sql: JobSQL.byIdempotencyKey,
                                            arguments: [job.queue.tenant, job.queue.name, key])
            guard let existing else { throw JobStoreError.unavailable("the idempotency key's job vanished") }
            return EnqueueOutcome(job: try Self.job(existing), created: false)
        }
        if outcome.created { signal.notify(job.queue) }
        return outcome
    }

    public func claim(_ queue: QueueID, worker: String, limit: Int, lease: Duration) async throws -> [StoredJob] {
        let now = options.clock()
        let sql = claimSQL
        let rows = try await pool.write { db in
            try Row.fetchAll(db, sql: sql, arguments: Self.arguments([
                .text(worker), .int(now.adding(lease).microseconds), .text(queue.tenant), .text(queue.name),
                .int(now.microseconds), .int(Int64(limit)),
            ])).map(Self.job)
        }
        return rows.sorted { ($0.priority, -$0.ref.id) > ($1.priority, -$1.ref.id) }
    }

    public func complete(_ job: JobRef, lease: String, result: String) async throws {
        let now = options.clock().microseconds
        try await pool.write { db in
            let row = try Row.fetchOne(db, sql: JobSQL.complete, arguments: Self.arguments([
                .text(result), .int(now), .int(job.id), .text(job.tenant), .text(lease), .int(now),
            ]))
            guard let row else { throw try Self.refusal(db, job, lease: lease, now: now) }
            try db.execute(sql: JobSQL.recordCompletion, arguments: Self.arguments([
                .int(job.id), .text(lease), .text(row[0] as String), .int(now), .int(row[1] as Int64),
            ]))
        }
    }

    public func fail(_ job: JobRef, lease: String, error: String) async throws -> FailOutcome {
        let now = options.clock()
        let backoff = options.retryBackoff
        let sql = leasedForUpdateSQL
        let (outcome, queue) = try await pool.write { db -> (FailOutcome, String) in
            guard let row = try Row.fetchOne(db, sql: sql, arguments: Self.arguments([
                .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
            ])) else {
                throw try Self.refusal(db, job, lease: lease, now: now.microseconds)
            }
            let retries = (row[0] as Int32) + 1
            let outcome = FailOutcome.after(retries, of: row[1] as Int32, now: now, backoff: backoff)
            try db.execute(sql: JobSQL.recordFailure, arguments: Self.arguments([
                .int(Int64(outcome.willRetry ? StoredJobStatus.failed.rawValue : StoredJobStatus.deadLetter.rawValue)),
                .int(retries), .int((outcome.readyAt ?? now).microseconds), .text(error),
                outcome.willRetry ? .null : .int(now.microseconds), .int(job.id),
            ]))
            return (outcome, row[2] as String)
        }
        if outcome.willRetry { signal.notify(QueueID(tenant: job.tenant, name: queue)) }
        return outcome
    }

    public func renew(_ job: JobRef, lease: String, for duration: Duration) async throws -> Date {
        let now = options.clock()
        let expiry = now.adding(duration)
        try await pool.write { db in
            try db.execute(sql: JobSQL.renew, arguments: Self.arguments([
                .int(expiry.microseconds), .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
            ]))
            if db.changesCount == 0 { throw try Self.refusal(db, job, lease: lease, now: now.microseconds) }
        }
        return Date(microseconds: expiry.microseconds)
    }

    public func renewAll(_ leases: [(job: JobRef, lease: String)], for duration: Duration) async throws -> Int {
        guard !leases.isEmpty else { return 0 }
        let now = options.clock()
        let expiry = now.adding(duration).microseconds
        let pairs = leases.map { ($0.job, $0.lease) }
        return try await pool.write { db in
            var renewed = 0
            for (job, lease) in pairs {
                try db.execute(sql: JobSQL.renew, arguments: Self.arguments([
                    .int(expiry), .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
                ]))
                renewed += db.changesCount
            }
            return renewed
        }
    }

    public func job(_ job: JobRef) async throws -> StoredJob {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: JobSQL.job, arguments: [job.id, job.tenant]) else {
                throw JobStoreError.notFound(job)
            }
            return try Self.job(row)
        }
    }

    public func counts(_ queue: QueueID) async throws -> QueueCounts {
        try await pool.read { db in
            var counts = QueueCounts()
            for row in try Row.fetchAll(db, sql: JobSQL.counts, arguments: [queue.tenant, queue.name]) {
                if let status = StoredJobStatus(rawValue: row[0] as Int) { counts.add(status, row[1] as Int64) }
            }
            return counts
        }
    }

    public func reapExpiredLeases() async throws -> Set<QueueID> {
        let now = options.clock().microseconds
        let queues = try await pool.write { db in
            Set(try Row.fetchAll(db, sql: JobSQL.reap, arguments: [now, now]).map {
                QueueID(tenant: $0[0] as String, name: $0[1] as String)
            })
        }
        for queue in queues { signal.notify(queue) }
        return queues
    }

    public func nextReadyTime(_ queue: QueueID) async throws -> Date? {
        let now = options.clock().microseconds
        return try await pool.read { db in
            try Int64.fetchOne(db, sql: JobSQL.nextReadyTime, arguments: [queue.tenant, queue.name, now])
                .map(Date.init(microseconds:))
        }
    }

    public func close() async {
        let pool = self.pool
        _ = try? await Self.offCooperativePool { try pool.close() }
    }

    /// Runs GRDB's synchronous open or close on a Dispatch thread: both can wait on SQLite's
    /// locks (up to the busy timeout, when another process holds the file), and that wait must
    /// not hold a thread of Swift's cooperative pool. (Reads and writes use GRDB's async
    /// accessors, which do this themselves.)
    private static func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: Rows

    private static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .int(let int): return int
            case .text(let text): return text
            case .null: return nil
            }
        })
    }

    /// Why an operation under `lease` matched no row.
    private static func refusal(_ db: Database, _ job: JobRef, lease: String, now: Int64) throws -> JobStoreError {
        guard let row = try Row.fetchOne(db, sql: JobSQL.leaseState, arguments: [job.id, job.tenant]) else {
            return .notFound(job)
        }
        return LeaseState(status: row[0], token: row[1], expiresAt: row[2]).refusal(job, lease: lease, now: now)
    }

    private static func job(_ row: Row) throws -> StoredJob {
        try StoredJob(
            id: row["id"], tenant: row["tenant"], queue: row["queue"], payload: row["payload"],
            priority: row["priority"], maxRetries: row["max_retries"], retryCount: row["retry_count"],
            status: row["status"], tags: row["tags"], createdAt: row["created_at"], readyAt: row["ready_at"],
            leaseWorker: row["lease_worker"], leaseToken: row["lease_token"], leaseExpiresAt: row["lease_expires_at"],
            lastError: row["last_error"])
    }
}
