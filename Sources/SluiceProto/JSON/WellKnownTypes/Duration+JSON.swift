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
        encoder.writeString((negative ? "-" : "") + String(abs(seconds)) + JSONFraction.text(nanos: abs(nanos)) + "s")
    }

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try mergeJSON(decoder.readJSONValue(), decoder: &decoder)
    }

    /// Merges `json`, already read whole.
    mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        guard case .string(let text) = json else {
            throw JSONDecodingError(.typeMismatch(expected: "a duration string like \"1.5s\"", found: json.kindDescription))
        }
        let invalid = JSONDecodingError(.invalidValue("\(JSONNumbers.quoted(text)) is not a duration (like \"1.5s\", within ±315576000000s)"))
        var b = Array(text.utf8)
        guard b.last == UInt8(ascii: "s") else { throw invalid }
        b.removeLast()
        var i = 0
        let negative = b.first == UInt8(ascii: "-")
        if negative { i = 1 }
        var seconds: Int64 = 0
        let digitsStart = i
        while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
            guard i - digitsStart < 12 else { throw invalid }
            seconds = seconds * 10 + Int64(b[i] - UInt8(ascii: "0"))
            i += 1
        }
        guard i > digitsStart else { throw invalid }
        var nanos: Int32 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            guard let (value, length) = JSONFraction.parse(b, at: i + 1) else { throw invalid }
            nanos = value
            i += 1 + length
        }
        guard i == b.count, seconds <= Self.maximumJSONSeconds else { throw invalid }
        self.seconds = negative ? -seconds : seconds
        self.nanos = negative ? -nanos : nanos
    }
}
