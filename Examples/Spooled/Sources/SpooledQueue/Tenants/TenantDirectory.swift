import Foundation
import Sluice
import SluiceProto

/// Spooled's API keys: each names a tenant, the queues it may use and its rate limit.
///
/// Every call sends its key as `x-api-key`. A missing or unknown key is UNAUTHENTICATED; a key
/// used for a queue it does not grant is PERMISSION_DENIED; a key over its rate limit is
/// RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail and gRPC's
/// `grpc-retry-pushback-ms` trailer (gRFC A6), so a client with a retry policy waits exactly
/// as long as it must.
///
/// A key is compared with every configured key, each in time that depends only on the lengths,
/// so the time an answer takes tells nothing about how much of a guess was right.
public final class TenantDirectory: Sendable {
    /// Each key with its bytes, made once: every call compares against all of them.
    private let keys: [(bytes: [UInt8], key: APIKey)]
    private let limiter: RateLimiter

    /// A directory of `keys`; `clock` times the rate limits.
    public init(keys: [APIKey], clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.keys = keys.map { (Array($0.key.utf8), $0) }
        self.limiter = RateLimiter(clock: clock)
    }

    /// Keys read from a JSON file:
    /// `{"keys": [{"key": "sk_...", "tenant": "acme", "queues": ["emails"], "rate_limit": {"per_second": 50, "burst": 100}}]}`
    /// (`queues` left out: every queue; `rate_limit` left out: none).
    /// - Throws: ``TenantConfigurationError`` naming the entry and field that is wrong.
    public static func keys(contentsOf file: URL) throws -> [APIKey] {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw TenantConfigurationError(path: file.path, problem: "cannot be read (\(error.localizedDescription))")
        }
        return try APIKey.parseFile(data, path: file.path)
    }

    /// The tenant of the call's key, counting the call against the key's rate limit.
    /// - Throws: `RPCError` UNAUTHENTICATED or RESOURCE_EXHAUSTED.
    public func authenticate(_ metadata: Metadata) throws -> Tenant {
        guard let presented = metadata.first("x-api-key") else {
            throw RPCError(code: .unauthenticated, message: "missing x-api-key")
        }
        let presentedBytes = Array(presented.utf8)
        var match: APIKey?
        for (bytes, key) in keys where constantTimeEquals(presentedBytes, bytes) {
            match = key
        }
        guard let match else { throw RPCError(code: .unauthenticated, message: "invalid API key") }
        if let limit = match.rateLimit, let wait = limiter.take(key: match.key, limit: limit) {
            throw Self.overLimit(limit, retryAfter: wait)
        }
        return Tenant(name: match.tenant, queues: match.queues)
    }

    private static func overLimit(_ limit: RateLimit, retryAfter wait: Duration) -> RPCError {
        let milliseconds = max(Int64((wait.seconds * 1000).rounded(.up)), 1)
        var info = Google_Rpc_RetryInfo()
        info.retryDelay = Google_Protobuf_Duration(seconds: milliseconds / 1000, nanos: Int32(milliseconds % 1000) * 1_000_000)
        return RPCError(code: .resourceExhausted,
                        message: "rate limit of \(limit.perSecond) calls/s (burst \(limit.burst)) exceeded for this API key; retry in \(milliseconds) ms",
                        metadata: ["grpc-retry-pushback-ms": .string(String(milliseconds))],
                        packing: [info])
    }
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt64(a.count ^ b.count)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= UInt64(x ^ y)
    }
    return difference == 0
}

/// Who a call is for, once its key is known.
public struct Tenant: Sendable, Equatable {
    /// The tenant's name, which scopes its queues and jobs.
    public var name: String
    /// The queues the key grants; nil: all of them.
    public var queues: Set<String>?

    /// Tenant `name`, granted `queues` (nil: all).
    public init(name: String, queues: Set<String>? = nil) {
        self.name = name
        self.queues = queues
    }

    /// The tenant's queue named `name`.
    /// - Throws: `RPCError` PERMISSION_DENIED when the key does not grant it.
    public func queue(_ name: String) throws -> QueueID {
        if let queues, !queues.contains(name) {
            throw RPCError(code: .permissionDenied, message: "this API key has no access to queue '\(name)'")
        }
        return QueueID(tenant: self.name, name: name)
    }
}

/// One configured key.
public struct APIKey: Sendable, Equatable {
    /// The secret callers send as `x-api-key`.
    public var key: String
    /// The tenant it names.
    public var tenant: String
    /// The queues it grants; nil: all.
    public var queues: Set<String>?
    /// Its allowance; nil: none.
    public var rateLimit: RateLimit?

    /// A key of `tenant`, for every queue and without a limit unless told otherwise.
    public init(key: String, tenant: String, queues: Set<String>? = nil, rateLimit: RateLimit? = nil) {
        self.key = key
        self.tenant = tenant
        self.queues = queues
        self.rateLimit = rateLimit
    }

    private struct File: Decodable {
        struct Entry: Decodable {
            var key: String?
            var tenant: String?
            var queues: [String]?
            var rate_limit: Limit?
        }
        struct Limit: Decodable {
            var per_second: Double?
            var burst: Int?
        }
        var keys: [Entry]?
    }

    static func parseFile(_ data: Data, path: String) throws -> [APIKey] {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw TenantConfigurationError(path: path, problem: "is not a keys file: \(error)")
        }
        guard let entries = file.keys, !entries.isEmpty else {
            throw TenantConfigurationError(path: path, problem: "keys: expected a non-empty array")
        }
        return try entries.enumerated().map { index, entry in
            func bad(_ field: String, _ problem: String) -> TenantConfigurationError {
                TenantConfigurationError(path: path, problem: "keys[\(index)].\(field): \(problem)")
            }
            guard let key = entry.key, key.utf8.count >= 8 else { throw bad("key", "expected a string of at least 8 bytes") }
            guard let tenant = entry.tenant, RequestLimits.isName(tenant) else {
                throw bad("tenant", "expected 1 to 128 letters, digits, '.', '_' or '-'")
            }
            if let queues = entry.queues, let wrong = queues.first(where: { !RequestLimits.isName($0) }) {
                throw bad("queues", "'\(wrong)' is not a queue name")
            }
            var limit: RateLimit?
            if let rate = entry.rate_limit {
                guard let perSecond = rate.per_second, perSecond > 0, perSecond.isFinite else {
                    throw bad("rate_limit.per_second", "expected a number above 0")
                }
                let burst = rate.burst ?? Int(perSecond.rounded(.up))
                guard burst >= 1 else { throw bad("rate_limit.burst", "expected at least 1") }
                limit = RateLimit(perSecond: perSecond, burst: burst)
            }
            return APIKey(key: key, tenant: tenant, queues: entry.queues.map(Set.init), rateLimit: limit)
        }
    }
}

/// A key's allowance: `perSecond` calls on average, `burst` at once.
public struct RateLimit: Sendable, Equatable {
    /// Calls per second, on average.
    public var perSecond: Double
    /// Calls allowed at once after a quiet spell.
    public var burst: Int

    /// `perSecond` calls a second with bursts of `burst`.
    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// A keys file that cannot be used.
public struct TenantConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The keys file.
    public var path: String
    /// What is wrong, starting with the entry and field.
    public var problem: String

    /// `PATH PROBLEM`.
    public var description: String { "\(path) \(problem)" }
}
