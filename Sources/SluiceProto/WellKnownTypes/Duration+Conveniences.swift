extension Google_Protobuf_Duration {
    /// A duration of `seconds` plus `nanos`. Both are normalised to the same sign, as the
    /// spec requires (a negative duration has non-positive nanos).
    public init(seconds: Int64, nanos: Int32 = 0) {
        self.init()
        var s = seconds + Int64(nanos) / 1_000_000_000
        var n = Int64(nanos) % 1_000_000_000
        if s > 0 && n < 0 {
            s -= 1
            n += 1_000_000_000
        } else if s < 0 && n > 0 {
            s += 1
            n -= 1_000_000_000
        }
        self.seconds = s
        self.nanos = Int32(n)
    }

    /// The protobuf duration of a Swift `Duration`, truncated to nanoseconds.
    public init(_ duration: Swift.Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(seconds: seconds, nanos: Int32(attoseconds / 1_000_000_000))
    }

    /// A duration of `timeInterval` seconds, rounded to nanoseconds.
    public init(timeInterval: Double) {
        let whole = timeInterval.rounded(.towardZero)
        self.init(seconds: Int64(whole), nanos: Int32(((timeInterval - whole) * 1e9).rounded()))
    }

    /// The same span as a Swift `Duration`.
    public var duration: Swift.Duration {
        .seconds(seconds) + .nanoseconds(Int64(nanos))
    }

    /// The span in seconds.
    public var timeInterval: Double {
        Double(seconds) + Double(nanos) / 1e9
    }
}

extension Google_Protobuf_Duration: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }
}
