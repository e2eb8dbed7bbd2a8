import Synchronization

/// Token buckets, one per API key: a bucket holds up to `burst` calls and refills at
/// `perSecond`. Memory is one entry per configured key (keys come from the configuration, not
/// from callers: an unknown key is refused before it gets here).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: @Sendable () -> ContinuousClock.Instant

    init(clock: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.clock = clock
    }

    /// Takes a call from `key`'s bucket: nil when allowed, else how long until it would be.
    func take(key: String, limit: RateLimit) -> Duration? {
        let now = clock()
        return buckets.withLock { buckets -> Duration? in
            var bucket = buckets[key] ?? Bucket(tokens: Double(limit.burst), updated: now)
            let elapsed = (now - bucket.updated).seconds
            bucket.tokens = min(Double(limit.burst), bucket.tokens + elapsed * limit.perSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .seconds((1 - bucket.tokens) / limit.perSecond)
        }
    }
}
