import Foundation
import SpooledQueue
import Synchronization
import Testing

/// A clock the tests move by hand, for leases and backoffs.
final class TestClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
}

/// The two stores, which every semantics test runs on.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// A new, empty store of this kind, at `location` when given.
    func open(clock: TestClock = TestClock(), at location: StoreLocation? = nil) async throws -> (any JobStore, StoreLocation) {
        let location = if let location { location } else { try await freshLocation() }
        let options = JobStoreOptions(clock: { clock.read() }, retryBackoff: RetryBackoff(initial: .seconds(1), maximum: .seconds(60)))
        return (try await location.open(options: options), location)
    }

    func freshLocation() async throws -> StoreLocation {
        switch self {
        case .sqlite:
            return .sqlite(path: FileManager.default.temporaryDirectory.appending(path: "spooled-\(UUID().uuidString).db").path)
        case .postgres:
            return try await TestPostgres.shared.freshDatabase()
        }
    }
}

let emails = QueueID(tenant: "acme", name: "emails")

/// Runs `sql` on the store with the database's own command-line client (sqlite3, psql).
func runSQL(_ sql: String, at location: StoreLocation) async throws {
    _ = try await querySQL(sql, at: location)
}

/// What `sql` prints through the database's own client: rows by line, columns split by `|`.
func querySQL(_ sql: String, at location: StoreLocation) async throws -> String {
    let result: (status: Int32, output: String)
    switch location {
    case .sqlite(let path):
        result = try await Child(URL(fileURLWithPath: "/usr/bin/sqlite3"), [path, sql]).exit()
    case .postgres(let host, let port, let user, _, let database):
        result = try await Child(URL(fileURLWithPath: "/usr/bin/psql"),
                                 ["-h", host, "-p", "\(port)", "-U", user, "-d", database, "-qAt", "-c", sql]).exit()
    }
    guard result.status == 0 else { throw ChildError("\(sql): \(result.output)") }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}

func newJob(_ queue: QueueID = emails, priority: Int32 = 0, maxRetries: Int32 = 2, key: String = "",
            at scheduled: Date? = nil, tags: [String: String] = [:]) -> NewJob {
    NewJob(queue: queue, payload: #"{"to":"a@example.com"}"#, priority: priority, maxRetries: maxRetries,
           idempotencyKey: key, scheduledAt: scheduled, tags: tags)
}

@Suite("Spooled stores: the same semantics on SQLite and PostgreSQL", .timeLimit(.minutes(3)))
struct StoreSemanticsTests {
    @Test("ready jobs by priority, then enqueue order; each lease has the worker, an expiry and its own token",
          arguments: StoreKind.allCases)
    func priorityOrder(kind: StoreKind) async throws {
        let clock = TestClock()
        let (store, _) = try await kind.open(clock: clock)
        let low = try await store.enqueue(newJob(priority: 1)).job.ref
        let high = try await store.enqueue(newJob(priority: 5)).job.ref
        let low2 = try await store.enqueue(newJob(priority: 1)).job.ref
        _ = try await store.enqueue(newJob(QueueID(tenant: "acme", name: "other"), priority: 9))
        _ = try await store.enqueue(newJob(QueueID(tenant: "globex", name: "emails"), priority: 9))
        let first = try await store.claim(emails, worker: "w1", limit: 2, lease: .seconds(30))
        let second = try await store.claim(emails, worker: "w2", limit: 10, lease: .seconds(30))
        #expect(first.map(\.ref) == [high, low])
        #expect(second.map(\.ref) == [low2])
        let leases = (first + second).compactMap(\.lease)
        #expect(leases.count == 3 && Set(leases.map(\.token)).count == 3)
        #expect(first.allSatisfy { $0.status == .processing && $0.lease?.worker == "w1" })
        #expect(first.allSatisfy { $0.lease?.expiresAt == clock.read().addingTimeInterval(30) })
        #expect(try await store.claim(emails, worker: "w3", limit: 10, lease: .seconds(30)).isEmpty)
        #expect(try await store.counts(emails).processing == 3)
        await store.close()
    }

    @Test("an idempotency key returns the job it made, per tenant and queue; tags and scheduled_at are kept",
          arguments: StoreKind.allCases)
    func idempotencyTagsAndSchedule(kind: StoreKind) async throws {
        let clock = TestClock()
        let (store, _) = try await kind.open(clock: clock)
        let first = try await store.enqueue(newJob(key: "welcome-1", tags: ["campaign": "spring", "lang": "es"]))
        let again = try await store.enqueue(newJob(priority: 9, key: "welcome-1"))
        #expect(first.created && !again.created && again.job.ref == first.job.ref)
        #expect(again.job.priority == 0 && again.job.tags == ["campaign": "spring", "lang": "es"])
        // The same key in another queue or tenant is another job.
        #expect(try await store.enqueue(newJob(QueueID(tenant: "acme", name: "sms"), key: "welcome-1")).created)
        #expect(try await store.enqueue(newJob(QueueID(tenant: "globex", name: "emails"), key: "welcome-1")).created)

        let later = clock.read().addingTimeInterval(60)
        let scheduled = try await store.enqueue(newJob(priority: 9, at: later)).job
        #expect(scheduled.readyAt == later)
        let now = try await store.claim(emails, worker: "w", limit: 10, lease: .seconds(30))
        #expect(now.map(\.ref) == [first.job.ref], "the scheduled job waits")
        #expect(try await store.nextReadyTime(emails) == later)
        clock.advance(61)
        #expect(try await store.claim(emails, worker: "w", limit: 10, lease: .seconds(30)).map(\.ref) == [scheduled.ref])
        #expect(try await store.counts(emails).pending == 0)
        await store.close()
    }

    @Test("concurrent claims never lease one job twice", arguments: StoreKind.allCases)
    func noDoubleLease(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        for _ in 0..<200 { _ = try await store.enqueue(newJob()) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [Int64] = []
                    while case let jobs = try await store.claim(emails, worker: "w\(worker)", limit: 3, lease: .seconds(30)),
                          !jobs.isEmpty {
                        mine += jobs.map(\.ref.id)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claimed.count == 200)
        #expect(Set(claimed).count == 200)
        await store.close()
    }

    @Test("only the live lease's holder may complete, fail or renew; an expired lease is reaped and requeued",
          arguments: StoreKind.allCases)
    func leases(kind: StoreKind) async throws {
        let clock = TestClock()
        let (store, _) = try await kind.open(clock: clock)
        let ref = try await store.enqueue(newJob(maxRetries: 1)).job.ref
        let lease = try #require(try await store.claim(emails, worker: "slow", limit: 1, lease: .seconds(10)).first?.lease)
        await #expect(throws: JobStoreError.notLeaseHolder(ref, status: .processing)) {
            try await store.complete(ref, lease: "forged", result: "")
        }
        let renewed = try await store.renew(ref, lease: lease.token, for: .seconds(20))
        #expect(renewed == clock.read().addingTimeInterval(20))
        clock.advance(21)
        await #expect(throws: JobStoreError.leaseExpired(ref)) { try await store.renew(ref, lease: lease.token, for: .seconds(20)) }
        await #expect(throws: JobStoreError.leaseExpired(ref)) { try await store.complete(ref, lease: lease.token, result: "") }

        #expect(try await store.reapExpiredLeases() == [emails])
        let requeued = try await store.job(ref)
        #expect(requeued.status == .pending && requeued.retryCount == 1 && requeued.lease == nil)
        #expect(requeued.lastError == "lease expired (worker slow)")
        let fresh = try #require(try await store.claim(emails, worker: "fast", limit: 1, lease: .seconds(10)).first?.lease)
        // The slow worker, back from the dead, cannot complete what the fast one now holds.
        await #expect(throws: JobStoreError.notLeaseHolder(ref, status: .processing)) {
            try await store.complete(ref, lease: lease.token, result: "late")
        }
        try await store.complete(ref, lease: fresh.token, result: "done")
        await #expect(throws: JobStoreError.notLeaseHolder(ref, status: .completed)) {
            try await store.complete(ref, lease: fresh.token, result: "twice")
        }
        #expect(try await store.counts(emails) == { var c = QueueCounts(); c.completed = 1; return c }())
        // A lease that lapses on the job's last retry dead-letters it.
        let last = try await store.enqueue(newJob(maxRetries: 0)).job.ref
        _ = try await store.claim(emails, worker: "gone", limit: 1, lease: .seconds(1))
        clock.advance(2)
        _ = try await store.reapExpiredLeases()
        #expect(try await store.job(last).status == .deadLetter)
        await store.close()
    }

    @Test("Fail retries after an exponential backoff up to max_retries, then dead-letters with the last error",
          arguments: StoreKind.allCases)
    func failures(kind: StoreKind) async throws {
        let clock = TestClock()
        let (store, _) = try await kind.open(clock: clock)
        let ref = try await store.enqueue(newJob(maxRetries: 2)).job.ref
        var delays: [TimeInterval] = []
        for attempt in 1...3 {
            let lease = try #require(try await store.claim(emails, worker: "w", limit: 1, lease: .seconds(30)).first?.lease)
            let outcome = try await store.fail(ref, lease: lease.token, error: "smtp timeout \(attempt)")
            #expect(outcome.willRetry == (attempt < 3))
            if let readyAt = outcome.readyAt {
                delays.append(readyAt.timeIntervalSince(clock.read()))
                #expect(try await store.claim(emails, worker: "w", limit: 1, lease: .seconds(30)).isEmpty, "still backing off")
                #expect(try await store.counts(emails).failed == 1)
                clock.advance(readyAt.timeIntervalSince(clock.read()))
            }
        }
        #expect(delays == [1, 2])
        let dead = try await store.job(ref)
        #expect(dead.status == .deadLetter && dead.retryCount == 3 && dead.lastError == "smtp timeout 3")
        let counts = try await store.counts(emails)
        #expect(counts.deadLetter == 1 && counts.failed == 0 && counts.pending == 0)
        await #expect(throws: JobStoreError.notFound(JobRef(tenant: "acme", id: 999_999))) {
            _ = try await store.fail(JobRef(tenant: "acme", id: 999_999), lease: "x", error: "")
        }
        // Another tenant's job is not found, not merely refused.
        await #expect(throws: JobStoreError.notFound(JobRef(tenant: "globex", id: ref.id))) {
            _ = try await store.job(JobRef(tenant: "globex", id: ref.id))
        }
        await store.close()
    }

    @Test("jobs survive a reopen; a schema newer than the binary is refused", arguments: StoreKind.allCases)
    func durabilityAndSchema(kind: StoreKind) async throws {
        let (store, location) = try await kind.open()
        let ref = try await store.enqueue(newJob(tags: ["k": "v"])).job.ref
        await store.close()
        let (reopened, _) = try await kind.open(at: location)
        #expect(try await reopened.job(ref).tags == ["k": "v"])
        await reopened.close()
        // What a newer spooled-server would have left: its version in the table.
        try await runSQL("INSERT INTO spooled_schema (version) VALUES (99)", at: location)
        await #expect(throws: JobStoreError.schemaTooNew(found: 99, supported: 1)) { _ = try await kind.open(at: location) }
    }

    @Test("an enqueue wakes a delivery waiting on its queue, in this process and (PostgreSQL) in another",
          arguments: StoreKind.allCases)
    func wakeUps(kind: StoreKind) async throws {
        let (store, location) = try await kind.open()
        // PostgreSQL: a second store on the same database stands for a second server process.
        let (other, _) = kind == .postgres ? try await kind.open(at: location) : (store, location)
        let waiting = other.signal.generation(of: emails)
        let started = ContinuousClock.now
        async let woken: Void = other.signal.wait(emails, after: waiting, timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(300))
        _ = try await store.enqueue(newJob())
        await woken
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(other.signal.generation(of: emails) != waiting)
        await store.close()
        if kind == .postgres { await other.close() }
    }
}
