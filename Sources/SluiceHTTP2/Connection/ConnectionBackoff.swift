/// Reconnection delays of gRPC's connection-backoff.md: 1 s, growing by 1.6 per failure up to
/// 120 s, each with ±20 % jitter.
public struct ConnectionBackoff: Sendable, Hashable {
    public var initial: Duration = .seconds(1)
    public var multiplier = 1.6
    public var jitter = 0.2
    public var maximum: Duration = .seconds(120)

    public init() {}

    /// The delay before attempt `failures + 1`, given `failures` so far (at least one).
    func delay(afterFailures failures: Int, random: Double = Double.random(in: -1...1)) -> Duration {
        var seconds = initial.seconds
        for _ in 1..<max(failures, 1) { seconds = min(seconds * multiplier, maximum.seconds) }
        return .seconds(max(0, seconds * (1 + jitter * random)))
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
