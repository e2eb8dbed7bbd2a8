/// Exponential backoff with jitter between a stream's reconnect attempts.
struct RetryDelay: Sendable {
    let minimum: Duration
    let maximum: Duration
    private(set) var failures = 0

    init(minimum: Duration, maximum: Duration) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The delay before the next attempt, counting one more failure.
    mutating func next() -> Duration {
        failures += 1
        var delay = minimum
        for _ in 1..<min(failures, 30) where delay < maximum { delay = min(delay * 2, maximum) }
        // 80-100%: attempts of many clients spread out.
        return delay * Double.random(in: 0.8...1.0)
    }

    /// An attempt worked: start again from the minimum.
    mutating func reset() {
        failures = 0
    }
}
