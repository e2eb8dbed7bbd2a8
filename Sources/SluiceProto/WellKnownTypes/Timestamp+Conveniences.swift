#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Google_Protobuf_Timestamp {
    /// A timestamp of `seconds` since the Unix epoch plus `nanos` (0 ..< 1e9).
    public init(seconds: Int64, nanos: Int32 = 0) {
        self.init()
        self.seconds = seconds
        self.nanos = nanos
    }

    /// The timestamp of `date`, rounded down to whole nanoseconds.
    public init(date: Date) {
        let interval = date.timeIntervalSince1970
        let seconds = interval.rounded(.down)
        var nanos = ((interval - seconds) * 1e9).rounded()
        var whole = Int64(seconds)
        if nanos >= 1e9 {
            whole += 1
            nanos -= 1e9
        }
        self.init(seconds: whole, nanos: Int32(nanos))
    }

    /// The current time.
    public static var now: Self { Self(date: Date()) }

    /// The same instant as a Foundation `Date` (Date keeps about microsecond precision).
    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9)
    }

    /// Whether seconds and nanos lie in the range the spec allows
    /// (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z).
    public var isValid: Bool {
        seconds >= -62_135_596_800 && seconds <= 253_402_300_799 && nanos >= 0 && nanos < 1_000_000_000
    }

    /// The timestamp `duration` later.
    public static func + (lhs: Self, rhs: Google_Protobuf_Duration) -> Self {
        let (seconds, nanos) = normalized(lhs.seconds + rhs.seconds, Int64(lhs.nanos) + Int64(rhs.nanos))
        return Self(seconds: seconds, nanos: Int32(nanos))
    }

    /// The duration between two timestamps.
    public static func - (lhs: Self, rhs: Self) -> Google_Protobuf_Duration {
        Google_Protobuf_Duration(seconds: lhs.seconds - rhs.seconds, nanos: Int32(lhs.nanos - rhs.nanos))
    }
}

extension Google_Protobuf_Timestamp: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos)
    }
}

/// Carries overflowing nanoseconds into seconds, leaving 0 <= nanos < 1e9.
func normalized(_ seconds: Int64, _ nanos: Int64) -> (Int64, Int64) {
    var s = seconds + nanos / 1_000_000_000
    var n = nanos % 1_000_000_000
    if n < 0 {
        n += 1_000_000_000
        s -= 1
    }
    return (s, n)
}
