/// Numbers as the proto3 JSON mapping reads and writes them.
@usableFromInline
enum JSONNumbers {
    /// The exact integer a JSON number's text denotes, as sign and magnitude, or nil when the
    /// text is not a JSON number, not a whole number, or beyond 64 bits.
    ///
    /// Exponent and fraction forms are whole numbers when they come out even (`1e3`,
    /// `100.000`), as protobuf's parsers accept them; `0.5` and `1e-1` are not.
    static func exactInteger(_ text: Substring.UTF8View) -> (negative: Bool, magnitude: UInt64)? {
        // The common form, plain digits (up to 19, which cannot overflow), read without the
        // general path's digit buffer.
        var plain = text[...]
        let plainNegative = plain.first == UInt8(ascii: "-")
        if plainNegative { plain = plain.dropFirst() }
        if !plain.isEmpty, plain.count <= 19, plain.first != UInt8(ascii: "0") || plain.count == 1 {
            var value: UInt64 = 0
            var allDigits = true
            for byte in plain {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                    allDigits = false
                    break
                }
                value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            }
            if allDigits { return (plainNegative, value) }
        }
        var bytes = text[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var digits: [UInt8] = []
        var exponent = 0
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        let integerPart = bytes.prefix(while: isDigit)
        guard !integerPart.isEmpty, integerPart.first != UInt8(ascii: "0") || integerPart.count == 1 else { return nil }
        digits.append(contentsOf: integerPart)
        bytes = bytes.dropFirst(integerPart.count)
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            let fraction = bytes.prefix(while: isDigit)
            guard !fraction.isEmpty else { return nil }
            digits.append(contentsOf: fraction)
            exponent -= fraction.count
            bytes = bytes.dropFirst(fraction.count)
        }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            let exponentDigits = bytes.prefix(while: isDigit)
            guard !exponentDigits.isEmpty else { return nil }
            var value = 0
            for digit in exponentDigits {
                // Beyond any exponent that could matter: clamp rather than overflow.
                value = min(value * 10 + Int(digit - UInt8(ascii: "0")), 100_000)
            }
            exponent += exponentNegative ? -value : value
            bytes = bytes.dropFirst(exponentDigits.count)
        }
        guard bytes.isEmpty else { return nil }
        // Leading zeros carry nothing; all zeros is zero whatever the exponent.
        guard let firstNonZero = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else {
            return (negative, 0)
        }
        digits.removeSubrange(..<firstNonZero)
        if exponent < 0 {
            let dropped = -exponent
            guard dropped <= digits.count, digits.suffix(dropped).allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
            digits.removeLast(dropped)
            exponent = 0
        }
        guard digits.count + exponent <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits + repeatElement(UInt8(ascii: "0"), count: exponent) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        return (negative, magnitude)
    }

    /// An integer field's value: a JSON number, or a string holding one (how 64-bit values
    /// are written, and accepted for every width).
    static func integer<T: FixedWidthInteger>(_ json: JSONValue, as _: T.Type, typeName: String) throws -> T {
        switch json {
        case .number(let text), .string(let text):
            return try integer(text: text, as: T.self, typeName: typeName)
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an integer (\(typeName))", found: json.kindDescription))
        }
    }

    /// The integer `text` spells, in any form ``exactInteger(_:)`` takes.
    @usableFromInline
    static func integer<T: FixedWidthInteger>(text: String, as _: T.Type, typeName: String) throws -> T {
        guard let (negative, magnitude) = exactInteger(Substring(text).utf8) else {
            throw JSONDecodingError(.invalidValue("\(quoted(text)) is not an integer (\(typeName))"))
        }
        return try fit(negative, magnitude, as: T.self, typeName: typeName, text: text)
    }

    /// The integer in `bytes[range]`, a number token or a string's contents: plain digits
    /// (nearly always) are read in place; other forms go through ``integer(text:as:typeName:)``.
    @inlinable
    static func integer<T: FixedWidthInteger>(_ bytes: [UInt8], _ range: Range<Int>, as _: T.Type, typeName: String) throws -> T {
        if let (negative, magnitude) = plainInteger(bytes, range) {
            return try fit(negative, magnitude, as: T.self, typeName: typeName, text: String(decoding: bytes[range], as: UTF8.self))
        }
        return try integer(text: String(decoding: bytes[range], as: UTF8.self), as: T.self, typeName: typeName)
    }

    /// Plain digits with an optional minus sign, at most 19 and no leading zero: read without
    /// overflow; nil for every other form.
    @inlinable
    static func plainInteger(_ bytes: [UInt8], _ range: Range<Int>) -> (negative: Bool, magnitude: UInt64)? {
        var index = range.lowerBound
        guard index < range.upperBound else { return nil }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let count = range.upperBound - index
        guard count > 0, count <= 19, bytes[index] != UInt8(ascii: "0") || count == 1 else { return nil }
        var value: UInt64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value &* 10 &+ UInt64(digit)
            index += 1
        }
        return (negative, value)
    }

    /// `magnitude` with its sign as a `T`, or an error naming `text` when it does not fit.
    @inlinable
    static func fit<T: FixedWidthInteger>(
        _ negative: Bool, _ magnitude: UInt64, as _: T.Type, typeName: String, text: @autoclosure () -> String
    ) throws -> T {
        if negative && magnitude != 0 {
            guard T.isSigned, magnitude <= UInt64(T.max) + 1 else {
                throw JSONDecodingError(.invalidValue("\(quoted(text())) is out of range for \(typeName)"))
            }
            return T(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(T.max) else {
            throw JSONDecodingError(.invalidValue("\(quoted(text())) is out of range for \(typeName)"))
        }
        return T(magnitude)
    }

    /// A floating-point value from `bytes[range]`: a number token (`quoted` false), or a
    /// string's contents, which may also be `NaN`, `Infinity` or `-Infinity`.
    @usableFromInline
    static func double(_ bytes: [UInt8], _ range: Range<Int>, quoted isString: Bool, typeName: String) throws -> Double {
        if !isString, let value = exactDouble(bytes, range) { return value }
        let text = String(decoding: bytes[range], as: UTF8.self)
        return try double(isString ? .string(text) : .number(text), typeName: typeName)
    }

    /// Powers of ten that a `Double` holds exactly.
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Clinger's fast path: a number whose digits fit 2^53 and whose decimal exponent is
    /// within ±22 is one exact `Double` multiplied or divided by another exact one, a single
    /// correctly rounded operation; nil for the rest, which `Double(String)` reads. `range`
    /// holds a number token already checked against JSON's grammar.
    static func exactDouble(_ bytes: [UInt8], _ range: Range<Int>) -> Double? {
        var index = range.lowerBound
        let end = range.upperBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        while index < end, bytes[index] &- UInt8(ascii: "0") < 10 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < end, bytes[index] &- UInt8(ascii: "0") < 10 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0"))
                digits += 1
                exponent -= 1
                index += 1
            }
        }
        // 19 digits cannot overflow 64 bits; beyond them the wrapped mantissa means nothing.
        guard digits <= 19 else { return nil }
        if index < end {
            // `e` or `E`, a sign, digits (the grammar was checked).
            index += 1
            var exponentNegative = false
            if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var value = 0
            while index < end {
                value = min(value * 10 + Int(bytes[index] &- UInt8(ascii: "0")), 100_000)
                index += 1
            }
            exponent += exponentNegative ? -value : value
        }
        guard mantissa <= 1 << 53, exponent >= -22, exponent <= 22 else { return nil }
        let magnitude = exponent < 0
            ? Double(mantissa) / exactPowersOfTen[-exponent]
            : Double(mantissa) * exactPowersOfTen[exponent]
        return negative ? -magnitude : magnitude
    }

    /// A floating-point field's value: a JSON number, or a string with a number or one of
    /// `"NaN"`, `"Infinity"`, `"-Infinity"`.
    static func double(_ json: JSONValue, typeName: String) throws -> Double {
        let text: String
        switch json {
        case .number(let number):
            text = number
        case .string(let string):
            switch string {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: text = string
            }
            // Swift's parser would also take "inf", "nan" and hex floats; JSON's grammar only.
            guard isJSONNumber(Substring(text).utf8) else {
                throw JSONDecodingError(.invalidValue("\(quoted(text)) is not a number (\(typeName))"))
            }
        default:
            throw JSONDecodingError(.typeMismatch(expected: "a number (\(typeName))", found: json.kindDescription))
        }
        guard let value = Double(text) else {
            throw JSONDecodingError(.invalidValue("\(quoted(text)) is not a number (\(typeName))"))
        }
        guard value.isFinite else {
            throw JSONDecodingError(.invalidValue("\(text) is out of range for \(typeName); write \"Infinity\" for an infinity"))
        }
        return value
    }

    /// Whether `text` follows JSON's number grammar.
    static func isJSONNumber(_ text: Substring.UTF8View) -> Bool {
        var bytes = text[...]
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let integerPart = bytes.prefix(while: isDigit)
        guard !integerPart.isEmpty, integerPart.first != UInt8(ascii: "0") || integerPart.count == 1 else { return false }
        bytes = bytes.dropFirst(integerPart.count)
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            let fraction = bytes.prefix(while: isDigit)
            guard !fraction.isEmpty else { return false }
            bytes = bytes.dropFirst(fraction.count)
        }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: isDigit)
            guard !exponent.isEmpty else { return false }
            bytes = bytes.dropFirst(exponent.count)
        }
        return bytes.isEmpty
    }

    /// A double as JSON: the shortest text that reads back as the same value, or the
    /// mapping's strings for NaN and the infinities.
    static func write(_ value: Double, to encoder: inout ProtoJSONEncoder) {
        if value.isNaN {
            encoder.writeString("NaN")
        } else if value.isInfinite {
            encoder.writeString(value < 0 ? "-Infinity" : "Infinity")
        } else if value.magnitude <= 9_007_199_254_740_992, value.rounded(.towardZero) == value {
            // A whole number up to 2^53 (prices, counts): its digits and ".0", exactly what
            // `description` gives in this range, without the general shortest-digits search.
            if value.sign == .minus { encoder.bytes.append(UInt8(ascii: "-")) }
            encoder.appendDigits(of: UInt64(value.magnitude))
            encoder.bytes.append(UInt8(ascii: "."))
            encoder.bytes.append(UInt8(ascii: "0"))
        } else {
            encoder.writeRaw(value.description)
        }
    }

    /// A float as JSON, shortest for 32 bits (`0.1`, not `0.10000000149011612`).
    static func write(_ value: Float, to encoder: inout ProtoJSONEncoder) {
        if value.isNaN {
            encoder.writeString("NaN")
        } else if value.isInfinite {
            encoder.writeString(value < 0 ? "-Infinity" : "Infinity")
        } else {
            encoder.writeRaw(value.description)
        }
    }

    @usableFromInline
    static func quoted(_ text: String) -> String {
        "\"" + (text.count > 40 ? String(text.prefix(40)) + "..." : text) + "\""
    }
}
