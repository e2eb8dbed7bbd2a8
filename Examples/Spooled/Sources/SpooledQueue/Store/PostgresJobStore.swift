import Foundation
import Logging
import PostgresNIO

/// Spooled's jobs in PostgreSQL, through postgres-nio: the store for scale, which several
/// server processes share.
///
/// Claims take rows with `FOR UPDATE SKIP LOCKED`, so concurrent claims (from any process) never
/// lease one job twice and never wait on each other. An enqueue, a retry and a reaped lease
/// `NOTIFY spooled_jobs` in their transaction; every server process `LISTEN`s on one pooled
/// connection and wakes its deliveries, so a job enqueued through one server reaches a worker
/// streaming from another at once, without polling.
public final class PostgresJobStore: JobStore {
    public let signal = JobSignal()
    private let client: PostgresClient
    private let options: JobStoreOptions
    private let logger: Logger
    private let running: Task<Void, Never>
    private let listening: Task<Void, Never>
    private let claimSQL = SQLDialect.postgres.placeholders(JobSQL.claim(.postgres))
    private let leasedForUpdateSQL = SQLDialect.postgres.placeholders(JobSQL.leasedForUpdate(.postgres))


    /// Connects, migrates the database to this binary's schema (one server at a time, under an
    /// advisory lock) and starts listening for other servers' wake-ups.
    /// - Parameter connectTimeout: How long to wait for the database at start.
    /// - Throws: ``JobStoreError/unavailable(_:)`` when the database cannot be reached in time;
    ///   ``JobStoreError/schemaTooNew(found:supported:)`` for a database written by a newer
    ///   Spooled; postgres-nio's errors for a database that refuses the connection or the SQL.
    public init(configuration: PostgresClient.Configuration, options: JobStoreOptions = JobStoreOptions(),
                connectTimeout: Duration = .seconds(20),
                logger: Logger = Logger(label: "spooled.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) async throws {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.options = options
        self.logger = logger
        running = Task { await client.run() }
        do {
            // postgres-nio waits for a connection as long as it takes; a server that cannot
            // reach its database at start should say so instead.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.migrate(client, logger: logger) }
                group.addTask {
                    try await Task.sleep(for: connectTimeout)
                    throw JobStoreError.unavailable("no connection to PostgreSQL within \(connectTimeout)")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch {
            running.cancel()
            throw error
        }
        let signal = self.signal
        listening = Task { await Self.listen(client, signal: signal, logger: logger) }
    }

    deinit {
        listening.cancel()
        running.cancel()
    }

    private static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await Self.transaction(client, logger: logger) { connection in
            // Two servers starting at once: one migrates, the other then finds it done.
            try await connection.query("SELECT pg_advisory_xact_lock(7734502)", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: JobSQL.createVersionTable), logger: logger)
            var found = 0
            for try await version in try await connection.query(PostgresQuery(unsafeSQL: JobSQL.readVersion), logger: logger)
                .decode(Int?.self) {
                found = version ?? 0
            }
            guard found <= JobSQL.schemaVersion else {
                throw JobStoreError.schemaTooNew(found: found, supported: JobSQL.schemaVersion)
            }
            for (index, statements) in JobSQL.migrations(.postgres).enumerated() where index + 1 > found {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(Self.query(JobSQL.recordVersion, [.int(Int64(index + 1))]), logger: logger)
            }
        }
    }

    /// Wakes `signal` for every `NOTIFY`; reconnects after a second when the connection drops,
    /// and then wakes every waiter, since notifications may have been missed meanwhile.
    private static func listen(_ client: PostgresClient, signal: JobSignal, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: JobSQL.notificationChannel) { notifications in
                        signal.notifyAll()
                        for try await notification in notifications {
                            let parts = notification.payload.split(separator: "/", maxSplits: 1)
                            guard parts.count == 2 else { continue }
                            signal.notify(QueueID(tenant: String(parts[0]), name: String(parts[1])))
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("LISTEN failed; retrying in 1 s", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    public func enqueue(_ job: NewJob) async throws -> EnqueueOutcome {
        let now = options.clock().microseconds
        let tags = try encodeTags(job.tags)
        let key = job.idempotencyKey.isEmpty ? nil : job.idempotencyKey
        let inserted = try await client.query(Self.query(JobSQL.insertAndNotify, [
            .text(job.queue.tenant), .text(job.queue.name), .text(job.payload), .int(job.priority),
            .int(job.maxRetries), .text(key), .text(tags), .int(now), .int(job.scheduledAt?.microseconds ?? now),
        ]), logger: logger).collect()
        if let row = inserted.first { return EnqueueOutcome(job: try Self.job(row), created: true) }
        // The key was used: the job it made (committed, since the insert waited for it).
        let existing = try await client.query(Self.query(JobSQL.byIdempotencyKey, [
            .text(job.queue.tenant), .text(job.queue.name), .text(key),
        ]), logger: logger).collect()
        guard let row = existing.first else { throw JobStoreError.unavailable("the idempotency key's job vanished") }
        return EnqueueOutcome(job: try Self.job(row), created: false)
    }

    public func claim(_ queue: QueueID, worker: String, limit: Int, lease: Duration) async throws -> [StoredJob] {
        let now = options.clock()
        let rows = try await client.query(Self.query(claimSQL, [
            .text(worker), .int(now.adding(lease).microseconds), .text(queue.tenant), .text(queue.name),
            .int(now.microseconds), .int(Int64(limit)),
        ], numbered: true), logger: logger).collect()
        return try rows.map(Self.job).sorted { ($0.priority, -$0.ref.id) > ($1.priority, -$1.ref.id) }
    }

    public func complete(_ job: JobRef, lease: String, result: String) async throws {
        let now = options.clock().microseconds
        let logger = self.logger
        try await client.withConnection { connection in
            let recorded = try await connection.query(Self.query(JobSQL.completeAndRecord, [
                .text(result), .int(now), .int(job.id), .text(job.tenant), .text(lease), .int(now),
            ]), logger: logger).collect()
            if recorded.isEmpty { throw try await Self.refusal(connection, job, lease: lease, now: now, logger: logger) }
        }
    }

    public func fail(_ job: JobRef, lease: String, error: String) async throws -> FailOutcome {
        let now = options.clock()
        let backoff = options.retryBackoff
        let logger = self.logger
        let sql = leasedForUpdateSQL
        return try await Self.transaction(client, logger: logger) { connection in
            let rows = try await connection.query(Self.query(sql, [
                .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
            ], numbered: true), logger: logger).collect()
            guard let row = rows.first?.makeRandomAccess() else {
                throw try await Self.refusal(connection, job, lease: lease, now: now.microseconds, logger: logger)
            }
            let retries = Int32(clamping: try row[0].decode(Int.self)) + 1
            let outcome = FailOutcome.after(retries, of: Int32(clamping: try row[1].decode(Int.self)), now: now, backoff: backoff)
            try await connection.query(Self.query(JobSQL.recordFailure, [
                .int(Int64(outcome.willRetry ? StoredJobStatus.failed.rawValue : StoredJobStatus.deadLetter.rawValue)),
                .int(retries), .int((outcome.readyAt ?? now).microseconds), .text(error),
                outcome.willRetry ? .null : .int(now.microseconds), .int(job.id),
            ]), logger: logger)
            if outcome.willRetry {
                try await Self.notify(connection, QueueID(tenant: job.tenant, name: try row[2].decode(String.self)), logger: logger)
            }
            return outcome
        }
    }

    public func renew(_ job: JobRef, lease: String, for duration: Duration) async throws -> Date {
        let now = options.clock()
        let expiry = now.adding(duration)
        let logger = self.logger
        try await client.withConnection { connection in
            let renewed = try await connection.query(Self.query(JobSQL.renew + " RETURNING id", [
                .int(expiry.microseconds), .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
            ]), logger: logger).collect()
            if renewed.isEmpty { throw try await Self.refusal(connection, job, lease: lease, now: now.microseconds, logger: logger) }
        }
        return Date(microseconds: expiry.microseconds)
    }

    public func renewAll(_ leases: [(job: JobRef, lease: String)], for duration: Duration) async throws -> Int {
        guard !leases.isEmpty else { return 0 }
        let now = options.clock()
        let expiry = now.adding(duration).microseconds
        let logger = self.logger
        let pairs = leases.map { ($0.job, $0.lease) }
        return try await Self.transaction(client, logger: logger) { connection in
            var renewed = 0
            for (job, lease) in pairs {
                renewed += try await connection.query(Self.query(JobSQL.renew + " RETURNING id", [
                    .int(expiry), .int(job.id), .text(job.tenant), .text(lease), .int(now.microseconds),
                ]), logger: logger).collect().count
            }
            return renewed
        }
    }

    public func job(_ job: JobRef) async throws -> StoredJob {
        let rows = try await client.query(Self.query(JobSQL.job, [.int(job.id), .text(job.tenant)]), logger: logger).collect()
        guard let row = rows.first else { throw JobStoreError.notFound(job) }
        return try Self.job(row)
    }

    public func counts(_ queue: QueueID) async throws -> QueueCounts {
        var counts = QueueCounts()
        let rows = try await client.query(Self.query(JobSQL.counts, [.text(queue.tenant), .text(queue.name)]), logger: logger)
        for try await (status, count) in rows.decode((Int, Int64).self) {
            if let status = StoredJobStatus(rawValue: status) { counts.add(status, count) }
        }
        return counts
    }

    public func reapExpiredLeases() async throws -> Set<QueueID> {
        let now = options.clock().microseconds
        let logger = self.logger
        return try await Self.transaction(client, logger: logger) { connection in
            var queues = Set<QueueID>()
            for try await (tenant, queue) in try await connection.query(Self.query(JobSQL.reap, [.int(now), .int(now)]), logger: logger)
                .decode((String, String).self) {
                queues.insert(QueueID(tenant: tenant, name: queue))
            }
            for queue in queues { try await Self.notify(connection, queue, logger: logger) }
            return queues
        }
    }

    public func nextReadyTime(_ queue: QueueID) async throws -> Date? {
        let now = options.clock().microseconds
        let rows = try await client.query(Self.query(JobSQL.nextReadyTime, [.text(queue.tenant), .text(queue.name), .int(now)]),
                                          logger: logger)
        for try await time in rows.decode(Int64?.self) { return time.map(Date.init(microseconds:)) }
        return nil
    }

    public func close() async {
        listening.cancel()
        running.cancel()
        await listening.value
        await running.value
    }

    // MARK: Statements and rows

    /// `body` in a transaction; a refusal it throws comes out as itself, not wrapped in
    /// postgres-nio's transaction error (the rollback that follows it is routine).
    private static func transaction<Result>(
        _ client: PostgresClient, logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await client.withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let refusal = error.closureError as? JobStoreError, error.rollbackError == nil { throw refusal }
            throw error
        }
    }

    /// `sql` (with `?` placeholders, unless `numbered`) bound to `values`.
    static func query(_ sql: String, _ values: [SQLValue], numbered: Bool = false) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .int(let int): bindings.append(int)
            case .text(let text): bindings.append(text)
            case .null: bindings.appendNull()
            }
        }
        return PostgresQuery(unsafeSQL: numbered ? sql : SQLDialect.postgres.placeholders(sql), binds: bindings)
    }

    private static func notify(_ connection: PostgresConnection, _ queue: QueueID, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(JobSQL.notificationChannel), \(queue.tenant + "/" + queue.name))", logger: logger)
    }

    /// Why an operation under `lease` matched no row.
    private static func refusal(_ connection: PostgresConnection, _ job: JobRef, lease: String, now: Int64,
                                logger: Logger) async throws -> JobStoreError {
        let rows = try await connection.query(query(JobSQL.leaseState, [.int(job.id), .text(job.tenant)]), logger: logger)
        for try await (status, token, expiresAt) in rows.decode((Int, String?, Int64?).self) {
            return LeaseState(status: status, token: token, expiresAt: expiresAt).refusal(job, lease: lease, now: now)
        }
        return .notFound(job)
    }

    private static func job(_ row: PostgresRow) throws -> StoredJob {
        let (id, tenant, queue, payload, priority, maxRetries, retryCount, status, tags, createdAt, readyAt,
             leaseWorker, leaseToken, leaseExpiresAt, lastError) = try row.decode(
                (Int64, String, String, String, Int, Int, Int, Int, String, Int64, Int64, String?, String?, Int64?, String?).self)
        return try StoredJob(id: id, tenant: tenant, queue: queue, payload: payload, priority: priority,
                             maxRetries: maxRetries, retryCount: retryCount, status: status, tags: tags,
                             createdAt: createdAt, readyAt: readyAt, leaseWorker: leaseWorker, leaseToken: leaseToken,
                             leaseExpiresAt: leaseExpiresAt, lastError: lastError)
    }
}
