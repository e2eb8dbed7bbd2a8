/// The `grpc-timeout` header (PROTOCOL-HTTP2.md): at most 8 ASCII digits and a unit, one of
/// H (hours), M (minutes), S, m (milliseconds), u (microseconds), n (nanoseconds).
public enum GRPCTimeout {
    /// Parses a header value; nil if malformed.
    ///
    /// - Parameter text: The header's value, such as `250m`.
    /// - Returns: The timeout.
    public static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, text.count >= 2, text.count <= 9 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
        switch unit {
        case "H": return .seconds(value * 3600)
        case "M": return .seconds(value * 60)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }

    /// Encodes a timeout in the finest unit whose value fits in 8 digits, rounding up so the
    /// server never sees less time than there is.
    ///
    /// - Parameter duration: The time left.
    /// - Returns: The header's value.
    public static func encode(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return "1n" }
        let nanos = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        let units: [(Character, Double)] = [("n", 1), ("u", 1e3), ("m", 1e6), ("S", 1e9), ("M", 60e9), ("H", 3600e9)]
        for (unit, scale) in units {
            let value = (nanos / scale).rounded(.up)
            if value < 100_000_000 { return "\(Int64(value))\(unit)" }
        }
        return "99999999H"
    }
}
