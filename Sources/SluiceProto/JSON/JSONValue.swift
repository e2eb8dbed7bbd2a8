/// A parsed JSON document (RFC 8259), kept exactly enough for configuration and the proto3
/// JSON mapping: numbers keep their text, so that 64-bit integers and decimals lose nothing
/// until a reader decides what they are, and objects keep their members' order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as written: `-12`, `1.5e3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a name may repeat (readers decide whether that is an error).
    case object([(name: String, value: JSONValue)])

    /// Parses `text`, nesting at most `maxDepth` arrays and objects.
    ///
    /// - Throws: ``JSONParsingError`` with what was wrong and the byte offset.
    public init(parsing text: String, maxDepth: Int = 100) throws {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }

    /// Parses UTF-8 `bytes`, nesting at most `maxDepth` arrays and objects.
    public init(parsing bytes: [UInt8], maxDepth: Int = 100) throws {
        var scanner = JSONScanner(bytes: bytes, maxDepth: maxDepth)
        self = try scanner.value()
        try scanner.expectEnd()
    }

    /// Whether this is `null`: a pattern match, cheaper than `== .null`, which compares
    /// through the enum's equality.
    @inlinable
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// What the value is, for error messages: "a string", "an object".
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let value): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .array(let values): hasher.combine(values)
        case .object(let members):
            for member in members {
                hasher.combine(member.name)
                hasher.combine(member.value)
            }
        }
    }
}

/// Why a JSON document could not be parsed, and where.
public struct JSONParsingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String
    /// The byte offset in the input where it was found.
    public var offset: Int

    public init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
