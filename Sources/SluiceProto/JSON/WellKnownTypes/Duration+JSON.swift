/// `google.protobuf.Duration` in JSON: seconds with up to nine fractional digits and an `s`,
/// `"1.000340012s"`, `"-0.5s"`, within ±10,000 years as the type's documentation bounds it.
extension Google_Protobuf_Duration: JSONMessage {
    /// 10,000 years of 365.25 days.
    static let maximumJSONSeconds: Int64 = 315_576_000_000

    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        guard abs(seconds) <= Self.maximumJSONSeconds, abs(nanos) <= 999_999_999,
              !(seconds > 0 && nanos < 0), !(seconds < 0 && nanos > 0)
        else {
            throw JSONEncodingError("Duration \(seconds)s \(nanos)ns is out of range or mixes signs")
        }
        let negative = seconds < 0 || nanos < 0
        encoder.bytes.append(UInt8(ascii: "\""))
        if negative { encoder.bytes.append(UInt8(ascii: "-")) }
        encoder.appendDigits(of: UInt64(abs(seconds)), width: 1)
        JSONFraction.write(nanos: abs(nanos), to: &encoder)
        encoder.bytes.append(UInt8(ascii: "s"))
        encoder.bytes.append(UInt8(ascii: "\""))
    }

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try decoder.withStringUTF8(expected: "a duration string like \"1.5s\"") { utf8 in
            guard let (seconds, nanos) = Self.parseJSON(utf8) else {
                let text = String(decoding: utf8, as: UTF8.self)
                throw JSONDecodingError(.invalidValue("\(JSONNumbers.quoted(text)) is not a duration (like \"1.5s\", within ±315576000000s)"))
            }
            self.seconds = seconds
            self.nanos = nanos
        }
    }

    /// `[-]seconds[.fraction]s`, or nil.
    private static func parseJSON(_ b: UnsafeBufferPointer<UInt8>) -> (Int64, Int32)? {
        guard b.last == UInt8(ascii: "s") else { return nil }
        let end = b.count - 1
        var i = 0
        let negative = b.first == UInt8(ascii: "-")
        if negative { i = 1 }
        var seconds: Int64 = 0
        let digitsStart = i
        while i < end, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
            guard i - digitsStart < 12 else { return nil }
            seconds = seconds * 10 + Int64(b[i] - UInt8(ascii: "0"))
            i += 1
        }
        guard i > digitsStart else { return nil }
        var nanos: Int32 = 0
        if i < end, b[i] == UInt8(ascii: ".") {
            // The fraction ends at the `s`: parsed from a view without it.
            guard let (value, length) = JSONFraction.parse(UnsafeBufferPointer(rebasing: b[..<end]), at: i + 1) else { return nil }
            nanos = value
            i += 1 + length
        }
        guard i == end, seconds <= maximumJSONSeconds else { return nil }
        return negative ? (-seconds, -nanos) : (seconds, nanos)
    }
}
