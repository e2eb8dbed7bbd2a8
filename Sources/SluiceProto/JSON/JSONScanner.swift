/// Reads JSON (RFC 8259) token by token from UTF-8 bytes: what ``ProtoJSONDecoder`` reads
/// messages with, straight from the document, and what ``JSONValue/init(parsing:maxDepth:)``
/// builds trees with.
///
/// Each read skips the whitespace before its token. Strings are checked as UTF-8 where they
/// are read; nesting is counted in ``enter()`` against `maxDepth`. Errors are
/// ``JSONParsingError``s with the byte offset; the decoder turns them into
/// ``JSONDecodingError/Reason/malformedJSON(reason:offset:)``.
@usableFromInline
struct JSONScanner {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline let maxDepth: Int
    @usableFromInline var position = 0
    @usableFromInline var depth = 0

    @usableFromInline
    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// What the next value is, for reading it as the field's type wants.
    @usableFromInline
    enum Kind {
        case object, array, string, number, bool, null, invalid
    }

    // MARK: Looking ahead

    @inlinable
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The kind of the next value, without consuming it.
    @inlinable
    mutating func peekKind() -> Kind {
        skipWhitespace()
        guard position < bytes.count else { return .invalid }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return .invalid
        }
    }

    /// The next value's kind as ``JSONValue/kindDescription`` words it, for type errors; a
    /// value that is not JSON at all (`nul`, `[1,]`) is reported as malformed instead, so
    /// that a broken document is called broken whatever type was expected where it breaks.
    @usableFromInline
    mutating func describeNextValue() throws -> String {
        var probe = self
        try probe.skipValue()
        switch peekKind() {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .invalid: throw error("expected a value, found \(describeNext())")
        }
    }

    /// Consumes `null` if it is next.
    @inlinable
    mutating func consumeNull() throws -> Bool {
        guard peekKind() == .null else { return false }
        try literal("null", 0x6E_75_6C_6C)
        return true
    }

    /// Fails unless only whitespace is left.
    @usableFromInline
    mutating func expectEnd() throws {
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected \(describeNext()) after the document") }
    }

    @usableFromInline
    func error(_ reason: String) -> JSONParsingError { JSONParsingError(reason, at: position) }

    @usableFromInline
    func describeNext() -> String {
        guard position < bytes.count else { return "end of input" }
        let byte = bytes[position]
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    // MARK: Objects and arrays

    /// Counts one level of nesting, failing past `maxDepth`.
    @inlinable
    mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
    }

    /// Consumes `{` (the caller has checked it is next) and tells whether the object is
    /// empty, consuming its `}` if so.
    @inlinable
    mutating func beginObject() throws -> Bool {
        try beginContainer(closedBy: UInt8(ascii: "}"))
    }

    /// After a member's value: consumes `,` and tells that a member follows, or `}` and tells
    /// that the object ended.
    @inlinable
    mutating func nextMember() throws -> Bool {
        try nextInContainer(closedBy: UInt8(ascii: "}"), named: "object")
    }

    /// A member name and its colon. Names without escapes (nearly all) come back as the
    /// range of their bytes, with no `String` made; `escaped` holds the others, decoded.
    @inlinable
    mutating func memberName() throws -> (range: Range<Int>, escaped: String?) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw error("expected a member name in quotes, found \(describeNext())")
        }
        let start = position + 1
        var end = start
        var plain = true
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { plain = false; break }
            end += 1
        }
        let name: (range: Range<Int>, escaped: String?)
        if plain && end < bytes.count {
            position = end + 1
            name = (start..<end, nil)
        } else {
            name = (start..<start, try string())
        }
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
            throw error("expected ':' after a member name, found \(describeNext())")
        }
        position += 1
        return name
    }

    /// A member name as a `String`, for map keys and errors.
    @usableFromInline
    func string(of name: (range: Range<Int>, escaped: String?)) -> String {
        if let escaped = name.escaped { return escaped }
        // ASCII without escapes or control characters, checked by `memberName()`.
        return text(name.range)
    }

    /// Consumes `[` (the caller has checked it is next) and tells whether the array is
    /// empty, consuming its `]` if so.
    @inlinable
    mutating func beginArray() throws -> Bool {
        try beginContainer(closedBy: UInt8(ascii: "]"))
    }

    /// After an element: consumes `,` and tells that an element follows, or `]` and tells
    /// that the array ended.
    @inlinable
    mutating func nextElement() throws -> Bool {
        try nextInContainer(closedBy: UInt8(ascii: "]"), named: "array")
    }

    /// Consumes the opening bracket (the caller has checked it is next), counting a level of
    /// nesting, and tells whether the container is empty, consuming `close` if so.
    @inlinable
    mutating func beginContainer(closedBy close: UInt8) throws -> Bool {
        try enter()
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == close {
            position += 1
            depth -= 1
            return false
        }
        return true
    }

    /// After a member or an element: consumes `,` and tells that another follows, or `close`
    /// and tells that the container ended.
    @inlinable
    mutating func nextInContainer(closedBy close: UInt8, named container: StaticString) throws -> Bool {
        skipWhitespace()
        if position < bytes.count {
            if bytes[position] == UInt8(ascii: ",") { position += 1; return true }
            if bytes[position] == close { position += 1; depth -= 1; return false }
        }
        let closing = Character(Unicode.Scalar(close))
        guard position < bytes.count else { throw error("unterminated \(container): expected ',' or '\(closing)'") }
        throw error("expected ',' or '\(closing)' in an \(container), found \(describeNext())")
    }

    // MARK: Scalars

    /// Consumes a four-letter literal whose bytes (after the first, for `false`) are
    /// `bigEndianBytes`, compared as one integer.
    @inlinable
    mutating func literal(_ word: StaticString, _ bigEndianBytes: UInt32, skippingFirst: Bool = false) throws {
        let start = skippingFirst ? position + 1 : position
        guard bytes.count - start >= 4 else { throw error("expected \(word)") }
        let found = UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8 | UInt32(bytes[start + 3])
        guard found == bigEndianBytes else { throw error("expected \(word)") }
        position = start + 4
    }

    /// `true` or `false` (the caller has checked that one is next).
    @inlinable
    mutating func bool() throws -> Bool {
        if bytes[position] == UInt8(ascii: "t") {
            try literal("true", 0x74_72_75_65)
            return true
        }
        try literal("false", 0x61_6C_73_65, skippingFirst: true)
        return false
    }

    /// The bytes of a number (the caller has checked one starts here), checked against
    /// JSON's grammar.
    @inlinable
    mutating func numberRange() throws -> Range<Int> {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit in a number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw error("a number may not have leading zeros") }
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit after '.'") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit in the exponent") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        return start..<position
    }

    @inlinable
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// The text of `range`, which holds checked UTF-8 (a number, a name, a string's run).
    @usableFromInline
    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// A string's contents when they hold no escape: the range of their bytes, checked as
    /// UTF-8, with the closing quote consumed; nil (nothing consumed) when there are escapes,
    /// for ``string()`` to decode. The caller has checked that a string starts here.
    @inlinable
    mutating func plainStringRange() throws -> Range<Int>? {
        let start = position + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                try checkUTF8(start..<end)
                position = end + 1
                return start..<end
            }
            if byte == UInt8(ascii: "\\") { return nil }
            if byte < 0x20 {
                position = end
                throw error("a control character must be escaped in a string")
            }
            end += 1
        }
        position = end
        throw error("unterminated string")
    }

    @usableFromInline
    func checkUTF8(_ range: Range<Int>) throws {
        // The binary decoder's validator: the standard library's `String(validating:)` looks
        // up runtime metadata on every call on Linux.
        let valid = bytes.withUnsafeBufferPointer { UTF8Validation.isValid(UnsafeBufferPointer(rebasing: $0[range])) }
        guard valid else { throw JSONParsingError("invalid UTF-8 in a string", at: range.lowerBound) }
    }

    /// A string, its escapes decoded (the caller has checked that one starts here).
    @usableFromInline
    mutating func string() throws -> String {
        position += 1
        var runStart = position
        var result = ""
        func flush(_ end: Int) throws {
            guard runStart < end else { return }
            try checkUTF8(runStart..<end)
            let run = text(runStart..<end)
            if result.isEmpty { result = run } else { result += run }
        }
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                try flush(position)
                position += 1
                return result
            }
            if byte < 0x20 { throw error("a control character must be escaped in a string") }
            if byte != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            try flush(position)
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): result.append("\"")
            case UInt8(ascii: "\\"): result.append("\\")
            case UInt8(ascii: "/"): result.append("/")
            case UInt8(ascii: "b"): result.append("\u{08}")
            case UInt8(ascii: "f"): result.append("\u{0C}")
            case UInt8(ascii: "n"): result.append("\n")
            case UInt8(ascii: "r"): result.append("\r")
            case UInt8(ascii: "t"): result.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw error("a high surrogate must be followed by a low surrogate")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a high surrogate must be followed by a low surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw error("a low surrogate without a high one")
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid code point") }
                result.unicodeScalars.append(scalar)
            default:
                throw JSONParsingError("invalid escape '\\\(Character(Unicode.Scalar(escape)))'", at: position - 2)
            }
            runStart = position
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("expected four hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("expected four hex digits after \\u")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    // MARK: Whole values

    /// Consumes the next value, checking it as fully as reading it would (grammar, UTF-8,
    /// depth) without building anything: an unknown field's value, skipped.
    @usableFromInline
    mutating func skipValue() throws {
        switch peekKind() {
        case .object:
            guard try beginObject() else { return }
            repeat {
                _ = try memberName()
                try skipValue()
            } while try nextMember()
        case .array:
            guard try beginArray() else { return }
            repeat { try skipValue() } while try nextElement()
        case .string:
            if try plainStringRange() == nil { _ = try string() }
        case .number: _ = try numberRange()
        case .bool: _ = try bool()
        case .null: try literal("null", 0x6E_75_6C_6C)
        case .invalid: throw error("expected a value, found \(describeNext())")
        }
    }

    /// The next value as a tree, for the well-known types that take any JSON (`Struct`) and
    /// for ``JSONValue``.
    @usableFromInline
    mutating func value() throws -> JSONValue {
        switch peekKind() {
        case .object:
            var members: [(name: String, value: JSONValue)] = []
            guard try beginObject() else { return .object(members) }
            // Most objects have a few members: one allocation instead of a doubling per member.
            members.reserveCapacity(8)
            repeat {
                let name = string(of: try memberName())
                members.append((name, try value()))
            } while try nextMember()
            return .object(members)
        case .array:
            var values: [JSONValue] = []
            guard try beginArray() else { return .array(values) }
            values.reserveCapacity(4)
            repeat { values.append(try value()) } while try nextElement()
            return .array(values)
        case .string: return .string(try string())
        case .number: return .number(text(try numberRange()))
        case .bool: return .bool(try bool())
        case .null:
            try literal("null", 0x6E_75_6C_6C)
            return .null
        case .invalid:
            throw error(position < bytes.count ? "expected a value, found \(describeNext())" : "expected a value, found the end of input")
        }
    }
}
