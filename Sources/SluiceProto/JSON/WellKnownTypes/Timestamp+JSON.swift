/// `google.protobuf.Timestamp` in JSON: an RFC 3339 string in UTC, `"2024-05-01T12:00:00.250Z"`,
/// with 0, 3, 6 or 9 fractional digits out and any offset in, between 0001-01-01 and
/// 9999-12-31 as the type's documentation bounds it.
extension Google_Protobuf_Timestamp: JSONMessage {
    /// 0001-01-01T00:00:00Z.
    static let minimumJSONSeconds: Int64 = -62_135_596_800
    /// 9999-12-31T23:59:59Z.
    static let maximumJSONSeconds: Int64 = 253_402_300_799

    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        guard (Self.minimumJSONSeconds...Self.maximumJSONSeconds).contains(seconds), (0...999_999_999).contains(nanos) else {
            throw JSONEncodingError("Timestamp \(seconds)s \(nanos)ns is outside 0001-01-01 to 9999-12-31")
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        // Written into the output as it is made: no `String`s to join.
        encoder.bytes.append(UInt8(ascii: "\""))
        encoder.appendDigits(of: UInt64(year), width: 4)
        encoder.bytes.append(UInt8(ascii: "-"))
        encoder.appendDigits(of: UInt64(month), width: 2)
        encoder.bytes.append(UInt8(ascii: "-"))
        encoder.appendDigits(of: UInt64(day), width: 2)
        encoder.bytes.append(UInt8(ascii: "T"))
        encoder.appendDigits(of: UInt64(secondOfDay / 3600), width: 2)
        encoder.bytes.append(UInt8(ascii: ":"))
        encoder.appendDigits(of: UInt64(secondOfDay / 60 % 60), width: 2)
        encoder.bytes.append(UInt8(ascii: ":"))
        encoder.appendDigits(of: UInt64(secondOfDay % 60), width: 2)
        JSONFraction.write(nanos: nanos, to: &encoder)
        encoder.bytes.append(UInt8(ascii: "Z"))
        encoder.bytes.append(UInt8(ascii: "\""))
    }

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try decoder.withStringUTF8(expected: "an RFC 3339 timestamp string") { utf8 in
            try merge(parsed: Self.parseRFC3339(utf8), text: { String(decoding: utf8, as: UTF8.self) })
        }
    }

    /// Sets the timestamp parsed from `text`, or fails saying why; `text` is made only for
    /// the error.
    private mutating func merge(parsed: (Int64, Int32)?, text: () -> String) throws {
        guard let (seconds, nanos) = parsed else {
            throw JSONDecodingError(.invalidValue("\(JSONNumbers.quoted(text())) is not an RFC 3339 timestamp (like \"1972-01-01T10:00:20.021Z\")"))
        }
        guard (Self.minimumJSONSeconds...Self.maximumJSONSeconds).contains(seconds) else {
            throw JSONDecodingError(.invalidValue("\(JSONNumbers.quoted(text())) is outside 0001-01-01 to 9999-12-31"))
        }
        self.seconds = seconds
        self.nanos = nanos
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case `T` and `Z` as protobuf's parsers require.
    private static func parseRFC3339(_ b: UnsafeBufferPointer<UInt8>) -> (Int64, Int32)? {
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= b.count else { return nil }
            var value: Int64 = 0
            for byte in b[i..<i + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            i += count
            return value
        }
        func expect(_ ascii: Unicode.Scalar) -> Bool {
            guard i < b.count, b[i] == UInt8(ascii: ascii) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2), expect("T"),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
              (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var nanos: Int32 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard let (value, length) = JSONFraction.parse(b, at: i) else { return nil }
            nanos = value
            i += length
        }
        var offset: Int64 = 0
        if expect("Z") {
            offset = 0
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2), offsetHours < 24, offsetMinutes < 60 else {
                return nil
            }
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos)
    }
}

/// Fractions of a second as the JSON mapping writes them.
enum JSONFraction {
    /// Appends `""`, `.250`, `.250001` or `.250000001`: the fewest of 0, 3, 6 and 9 digits
    /// that are exact.
    static func write(nanos: Int32, to encoder: inout ProtoJSONEncoder) {
        if nanos == 0 { return }
        encoder.bytes.append(UInt8(ascii: "."))
        if nanos % 1_000_000 == 0 {
            encoder.appendDigits(of: UInt64(nanos / 1_000_000), width: 3)
        } else if nanos % 1_000 == 0 {
            encoder.appendDigits(of: UInt64(nanos / 1_000), width: 6)
        } else {
            encoder.appendDigits(of: UInt64(nanos), width: 9)
        }
    }

    /// 1 to 9 digits at `start` as nanoseconds, and how many digits there were.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, at start: Int) -> (Int32, Int)? {
        var i = start
        var value: Int32 = 0
        while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
            guard i - start < 9 else { return nil }
            value = value * 10 + Int32(b[i] - UInt8(ascii: "0"))
            i += 1
        }
        let length = i - start
        guard length > 0 else { return nil }
        for _ in length..<9 { value *= 10 }
        return (value, length)
    }
}

/// The proleptic Gregorian calendar, by Howard Hinnant's days-from-civil algorithms.
enum CivilCalendar {
    /// Days since 1970-01-01.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01.
    static func date(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
