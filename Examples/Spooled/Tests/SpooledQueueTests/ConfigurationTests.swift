import Foundation
import PostgresNIO
import Sluice
import Synchronization
@testable import SpooledQueue
import Testing

@Suite("Spooled configuration: --store, --api-keys, and the queue signal")
struct ConfigurationTests {
    @Test("--store takes sqlite:PATH and postgres://USER@HOST:PORT/DB, and says what is wrong otherwise")
    func storeLocations() throws {
        #expect(try StoreLocation(parsing: "sqlite:/var/lib/spooled/jobs.db") == .sqlite(path: "/var/lib/spooled/jobs.db"))
        #expect(try StoreLocation(parsing: "postgres://spooled:secret@db.internal:6543/jobs")
            == .postgres(host: "db.internal", port: 6543, user: "spooled", password: "secret", database: "jobs"))
        #expect(try StoreLocation(parsing: "postgresql://u@h/d") == .postgres(host: "h", port: 5432, user: "u", password: nil, database: "d"))
        #expect(try StoreLocation(parsing: "postgres://spooled:secret@db:1/jobs").description == "postgres://spooled@db:1/jobs",
                "the password is not printed")
        let wrong: [(String, String)] = [
            ("sqlite:", "sqlite: needs a file path"),
            ("mysql://u@h/d", "expected sqlite:PATH or postgres://"),
            ("postgres://h/d", "the PostgreSQL URL has no user"),
            ("postgres://u@h", "names no database"),
            ("postgres://u@h/a/b", "names no database"),
        ]
        for (text, problem) in wrong {
            #expect { try StoreLocation(parsing: text) } throws: { error in
                (error as? StoreLocationError)?.description.contains(problem) == true
            }
        }
    }

    @Test("a PostgreSQL store that cannot be reached is an error after the connect timeout, not a hang")
    func unreachablePostgres() async throws {
        let port = try freePort()  // nothing listens there
        let configuration = PostgresClient.Configuration(host: "127.0.0.1", port: port, username: "spooled", password: nil,
                                                         database: "spooled", tls: .disable)
        let started = ContinuousClock.now
        await #expect(throws: JobStoreError.unavailable("no connection to PostgreSQL within 1.0 seconds")) {
            _ = try await PostgresJobStore(configuration: configuration, connectTimeout: .seconds(1))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a keys file with a bad entry is refused, naming the entry and the field")
    func keysFile() throws {
        let good = #"{"keys": [{"key": "sk_live_12345678", "tenant": "acme", "queues": ["emails"], "rate_limit": {"per_second": 5}}]}"#
        let keys = try APIKey.parseFile(Data(good.utf8), path: "keys.json")
        #expect(keys == [APIKey(key: "sk_live_12345678", tenant: "acme", queues: ["emails"], rateLimit: RateLimit(perSecond: 5, burst: 5))])
        let bad: [(String, String)] = [
            (#"{"keys": []}"#, "keys.json keys: expected a non-empty array"),
            (#"{"keys": [{"key": "sk_live_12345678", "tenant": "acme"}, {"key": "short", "tenant": "acme"}]}"#,
             "keys.json keys[1].key: expected a string of at least 8 bytes"),
            (#"{"keys": [{"key": "sk_live_12345678", "tenant": "a/b"}]}"#, "keys.json keys[0].tenant: expected 1 to 128"),
            (#"{"keys": [{"key": "sk_live_12345678", "tenant": "t", "queues": ["ok", "no way"]}]}"#,
             "keys.json keys[0].queues: 'no way' is not a queue name"),
            (#"{"keys": [{"key": "sk_live_12345678", "tenant": "t", "rate_limit": {"per_second": -1}}]}"#,
             "keys.json keys[0].rate_limit.per_second: expected a number above 0"),
            (#"{"keys": [{"key": "sk_live_12345678", "tenant": "t", "rate_limit": {"per_second": 1, "burst": 0}}]}"#,
             "keys.json keys[0].rate_limit.burst: expected at least 1"),
            ("not json", "keys.json is not a keys file"),
        ]
        for (text, message) in bad {
            #expect { try APIKey.parseFile(Data(text.utf8), path: "keys.json") } throws: { error in
                (error as? TenantConfigurationError)?.description.hasPrefix(message) == true
            }
        }
    }

    @Test("keys compare equal only when equal, whatever the lengths")
    func constantTime() {
        #expect(constantTimeEquals(Array("sk_abc".utf8), Array("sk_abc".utf8)))
        #expect(!constantTimeEquals(Array("sk_abc".utf8), Array("sk_abd".utf8)))
        #expect(!constantTimeEquals(Array("sk_abc".utf8), Array("sk_abc\u{0}".utf8)))
        #expect(!constantTimeEquals([], Array("x".utf8)))
        #expect(constantTimeEquals([], []))
    }

    @Test("the rate limiter allows a burst, then one call per interval, and says how long to wait")
    func rateLimiter() {
        let start = ContinuousClock.now
        let offset = LockedOffset()
        let limiter = RateLimiter(clock: { start + offset.value })
        let limit = RateLimit(perSecond: 2, burst: 2)
        #expect(limiter.take(key: "k", limit: limit) == nil)
        #expect(limiter.take(key: "k", limit: limit) == nil)
        #expect(limiter.take(key: "k", limit: limit) == .milliseconds(500))
        #expect(limiter.take(key: "other", limit: limit) == nil, "buckets are per key")
        offset.value = .milliseconds(500)
        #expect(limiter.take(key: "k", limit: limit) == nil)
        #expect(limiter.take(key: "k", limit: limit) != nil)
    }

    @Test("a signal wakes its queue's waiters, not another's; a wait ends at its timeout or when cancelled")
    func signal() async throws {
        let signal = JobSignal()
        let emails = QueueID(tenant: "t", name: "emails")
        let sms = QueueID(tenant: "t", name: "sms")
        let seen = signal.generation(of: emails)
        let started = ContinuousClock.now
        async let woken: Void = signal.wait(emails, after: seen, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        signal.notify(sms)
        signal.notify(emails)
        await woken
        #expect(ContinuousClock.now - started < .seconds(10))
        // Notified before the wait began: returns at once.
        signal.notify(emails)
        await signal.wait(emails, after: seen, timeout: .seconds(30))
        let timed = ContinuousClock.now
        await signal.wait(sms, after: signal.generation(of: sms), timeout: .milliseconds(200))
        #expect(ContinuousClock.now - timed >= .milliseconds(200))
        let waiting = Task { await signal.wait(sms, after: signal.generation(of: sms), timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        let cancelled = ContinuousClock.now
        await waiting.value
        #expect(ContinuousClock.now - cancelled < .seconds(10))
    }
}

/// A clock offset the rate-limiter test moves.
final class LockedOffset: Sendable {
    private let offset = Mutex(Duration.zero)
    var value: Duration {
        get { offset.withLock { $0 } }
        set { offset.withLock { $0 = newValue } }
    }
}
