/// The SQL both stores run: one text per statement, with `?` placeholders (PostgreSQL's `$n`
/// are numbered in by ``SQLDialect/postgres``), so that the two stores cannot drift apart and
/// the benchmark that measures a store's own limit (`Benchmarks/spooled-store-limit`) runs
/// exactly these statements.
///
/// Times are microseconds since 1970 (`BIGINT`), from the store's clock.
enum JobSQL {
    /// The schema version this binary writes. A database at a higher version is refused.
    static let schemaVersion = 1

    static let jobColumns = """
        id, tenant, queue, payload, priority, max_retries, retry_count, status, tags, created_at, ready_at, \
        lease_worker, lease_token, lease_expires_at, last_error
        """

    /// Each version's statements, applied in order inside one transaction per version.
    static func migrations(_ dialect: SQLDialect) -> [[String]] {
        [
            [
                """
                CREATE TABLE spooled_jobs (
                    id \(dialect.serialPrimaryKey),
                    tenant TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    max_retries INTEGER NOT NULL,
                    retry_count INTEGER NOT NULL DEFAULT 0,
                    status INTEGER NOT NULL,
                    idempotency_key TEXT,
                    tags TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    ready_at BIGINT NOT NULL,
                    lease_worker TEXT,
                    lease_token TEXT,
                    lease_expires_at BIGINT,
                    last_error TEXT,
                    result TEXT,
                    finished_at BIGINT
                )
                """,
                """
                CREATE UNIQUE INDEX spooled_jobs_idempotency ON spooled_jobs (tenant, queue, idempotency_key)
                    WHERE idempotency_key IS NOT NULL
                """,
                // The claim's scan: ready jobs of one queue by priority, then enqueue order.
                "CREATE INDEX spooled_jobs_ready ON spooled_jobs (tenant, queue, priority DESC, id) WHERE status IN (1, 4)",
                // The reaper's scan: live leases by expiry.
                "CREATE INDEX spooled_jobs_leases ON spooled_jobs (lease_expires_at) WHERE status = 2",
                "CREATE INDEX spooled_jobs_counts ON spooled_jobs (tenant, queue, status)",
                // One row per accepted completion: a second completion of a job cannot be
                // recorded (the soak checks exactly-once against this table).
                """
                CREATE TABLE spooled_completions (
                    job_id BIGINT PRIMARY KEY,
                    lease_token TEXT NOT NULL,
                    worker TEXT NOT NULL,
                    completed_at BIGINT NOT NULL,
                    lease_expires_at BIGINT NOT NULL
                )
                """,
            ],
        ]
    }

    static let createVersionTable = "CREATE TABLE IF NOT EXISTS spooled_schema (version INTEGER NOT NULL)"
    static let readVersion = "SELECT MAX(version) FROM spooled_schema"
    static let recordVersion = "INSERT INTO spooled_schema (version) VALUES (?)"

    /// tenant, queue, payload, priority, max_retries, status, idempotency_key, tags, created_at,
    /// ready_at. Returns nothing when the idempotency key exists.
    static let insert = """
        INSERT INTO spooled_jobs (tenant, queue, payload, priority, max_retries, status, idempotency_key, tags, \
        created_at, ready_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
        ON CONFLICT (tenant, queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING \(jobColumns)
        """

    /// PostgreSQL: ``insert`` and its `NOTIFY` (payload `tenant/queue`) in one statement, so one
    /// round trip and one implicit transaction. The same arguments.
    static let insertAndNotify = """
        WITH inserted AS (\(insert))
        SELECT inserted.*, pg_notify('\(notificationChannel)', inserted.tenant || '/' || inserted.queue) FROM inserted
        """

    /// PostgreSQL: the channel of `NOTIFY` and `LISTEN`, whose payload is `tenant/queue`.
    static let notificationChannel = "spooled_jobs"

    /// tenant, queue, idempotency_key.
    static let byIdempotencyKey = """
        SELECT \(jobColumns) FROM spooled_jobs WHERE tenant = ? AND queue = ? AND idempotency_key = ?
        """

    /// lease_worker, lease_expires_at, then the candidate query's tenant, queue, now, limit.
    static func claim(_ dialect: SQLDialect) -> String {
        """
        UPDATE spooled_jobs SET status = 2, lease_worker = ?, lease_token = \(dialect.newToken), lease_expires_at = ?
        WHERE id IN (
            SELECT id FROM spooled_jobs WHERE tenant = ? AND queue = ? AND status IN (1, 4) AND ready_at <= ?
            ORDER BY priority DESC, id LIMIT ?\(dialect.skipLocked))
        RETURNING \(jobColumns)
        """
    }

    /// result, finished_at, id, tenant, lease_token, now. Keeps the lease columns, for the
    /// completion record.
    static let complete = """
        UPDATE spooled_jobs SET status = 3, result = ?, finished_at = ?
        WHERE id = ? AND tenant = ? AND status = 2 AND lease_token = ? AND lease_expires_at > ?
        RETURNING lease_worker, lease_expires_at
        """

    /// PostgreSQL: ``complete`` and ``recordCompletion`` in one statement (one round trip, one
    /// implicit transaction): result, finished_at, id, tenant, lease_token, now. Returns the job
    /// id when accepted.
    static let completeAndRecord = """
        WITH done AS (
            UPDATE spooled_jobs SET status = 3, result = ?, finished_at = ?
            WHERE id = ? AND tenant = ? AND status = 2 AND lease_token = ? AND lease_expires_at > ?
            RETURNING id, lease_token, lease_worker, finished_at, lease_expires_at)
        INSERT INTO spooled_completions (job_id, lease_token, worker, completed_at, lease_expires_at)
        SELECT id, lease_token, lease_worker, finished_at, lease_expires_at FROM done
        RETURNING job_id
        """

    /// job_id, lease_token, worker, completed_at, lease_expires_at.
    static let recordCompletion = """
        INSERT INTO spooled_completions (job_id, lease_token, worker, completed_at, lease_expires_at) VALUES (?, ?, ?, ?, ?)
        """

    /// id, tenant, lease_token, now: the job under a live lease, locked for the failure's update.
    static func leasedForUpdate(_ dialect: SQLDialect) -> String {
        """
        SELECT retry_count, max_retries, queue FROM spooled_jobs
        WHERE id = ? AND tenant = ? AND status = 2 AND lease_token = ? AND lease_expires_at > ?\(dialect.forUpdate)
        """
    }

    /// status, retry_count, ready_at, last_error, finished_at, id.
    static let recordFailure = """
        UPDATE spooled_jobs SET status = ?, retry_count = ?, ready_at = ?, last_error = ?, finished_at = ?,
            lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE id = ?
        """

    /// lease_expires_at, id, tenant, lease_token, now.
    static let renew = """
        UPDATE spooled_jobs SET lease_expires_at = ?
        WHERE id = ? AND tenant = ? AND status = 2 AND lease_token = ? AND lease_expires_at > ?
        """

    /// id, tenant: why an operation under a lease was refused.
    static let leaseState = "SELECT status, lease_token, lease_expires_at FROM spooled_jobs WHERE id = ? AND tenant = ?"

    /// id, tenant.
    static let job = "SELECT \(jobColumns) FROM spooled_jobs WHERE id = ? AND tenant = ?"

    /// tenant, queue.
    static let counts = "SELECT status, COUNT(*) FROM spooled_jobs WHERE tenant = ? AND queue = ? GROUP BY status"

    /// ready_at (now), now. Every expired lease goes back in line with its retry counted, or to
    /// the dead-letter state when that was its last retry. (SET expressions read the old row.)
    static let reap = """
        UPDATE spooled_jobs SET
            status = CASE WHEN retry_count + 1 > max_retries THEN 5 ELSE 1 END,
            retry_count = retry_count + 1,
            last_error = 'lease expired (worker ' || lease_worker || ')',
            lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL, ready_at = ?
        WHERE status = 2 AND lease_expires_at <= ?
        RETURNING tenant, queue
        """

    /// tenant, queue, now.
    static let nextReadyTime = """
        SELECT MIN(ready_at) FROM spooled_jobs WHERE tenant = ? AND queue = ? AND status IN (1, 4) AND ready_at > ?
        """
}

/// Where the two stores' SQL differs.
enum SQLDialect {
    case sqlite
    case postgres

    var serialPrimaryKey: String {
        switch self {
        case .sqlite: return "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: return "BIGSERIAL PRIMARY KEY"
        }
    }

    /// A new random lease token per row.
    var newToken: String {
        switch self {
        case .sqlite: return "lower(hex(randomblob(16)))"
        case .postgres: return "replace(gen_random_uuid()::text, '-', '')"
        }
    }

    /// PostgreSQL: concurrent claims skip each other's rows instead of waiting. (SQLite has one
    /// writer at a time.)
    var skipLocked: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
    var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }

    /// `sql` with its `?` placeholders as this dialect writes them.
    func placeholders(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        var out = ""
        var number = 0
        var inString = false
        for character in sql {
            if character == "'" { inString.toggle() }
            if character == "?" && !inString {
                number += 1
                out += "$\(number)"
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// A statement's argument, for either store.
enum SQLValue: Sendable {
    case int(Int64)
    case text(String)
    case null

    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func int(_ value: Int32) -> SQLValue { .int(Int64(value)) }
}
