#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// gRPC metadata: an ordered list of key-value pairs, keys case-insensitive (stored lowercase)
/// and repeatable. Keys ending in `-bin` carry binary values, base64-encoded on the wire.
///
/// Reserved headers (`:path`, `content-type`, `te`, `grpc-timeout`, `grpc-status`, ...) belong
/// to the transport; ``isReserved(_:)`` tells which, and transports keep them out.
public struct Metadata: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// A metadata value: text for ordinary keys, bytes for `-bin` keys.
    public enum Value: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        case string(String)
        case binary([UInt8])

        public init(stringLiteral value: String) { self = .string(value) }

        public var description: String {
            switch self {
            case .string(let s): return s
            case .binary(let b): return Data(b).base64EncodedString()
            }
        }
    }

    /// One entry.
    public struct Element: Hashable, Sendable {
        public var key: String
        public var value: Value
    }

    private var elements: [Element] = []

    /// Empty metadata.
    public init() {}

    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements { add(key, value) }
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    /// Appends a value; earlier values for the key stay.
    public mutating func add(_ key: String, _ value: Value) {
        elements.append(Element(key: Self.lowercased(key), value: value))
    }

    /// Appends a text value.
    public mutating func add(_ key: String, _ value: String) {
        add(key, .string(value))
    }

    /// Appends a binary value; `key` should end in `-bin`.
    public mutating func add(_ key: String, binary value: [UInt8]) {
        add(key, .binary(value))
    }

    /// Replaces every value of `key` with `value`.
    public mutating func replace(_ key: String, _ value: Value) {
        removeAll(key)
        add(key, value)
    }

    /// Removes every value of `key`.
    public mutating func removeAll(_ key: String) {
        let key = Self.lowercased(key)
        elements.removeAll { $0.key == key }
    }

    /// All values of `key`, in order.
    public subscript(key: String) -> [Value] {
        let key = Self.lowercased(key)
        return elements.filter { $0.key == key }.map(\.value)
    }

    /// The first text value of `key`.
    public func first(_ key: String) -> String? {
        let key = Self.lowercased(key)
        for element in elements where element.key == key {
            if case .string(let s) = element.value { return s }
        }
        return nil
    }

    /// The first binary value of `key`.
    public func firstBinary(_ key: String) -> [UInt8]? {
        let key = Self.lowercased(key)
        for element in elements where element.key == key {
            if case .binary(let b) = element.value { return b }
        }
        return nil
    }

    /// Appends all of `other`.
    public mutating func add(contentsOf other: Metadata) {
        elements += other.elements
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        elements.makeIterator()
    }

    public var description: String {
        "[" + elements.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }

    /// Headers the protocol itself uses, which user metadata may not set (gRPC
    /// PROTOCOL-HTTP2.md: pseudo-headers, content-type, te, user-agent, grpc-*).
    public static func isReserved(_ key: String) -> Bool {
        let key = Self.lowercased(key)
        if key.hasPrefix(":") { return true }
        if key.hasPrefix("grpc-") {
            // gRFC A6's two keys are metadata the application reads and sets: a server sends
            // `grpc-retry-pushback-ms` in its trailers, a handler sees which attempt it serves.
            return key != "grpc-retry-pushback-ms" && key != "grpc-previous-rpc-attempts"
        }
        switch key {
        case "content-type", "te", "user-agent", "connection", "host", "transfer-encoding", "upgrade",
             "keep-alive", "proxy-connection":
            return true
        default:
            return false
        }
    }

    /// `key` in lowercase; keys are nearly always lowercase already, and then this neither
    /// copies nor allocates.
    static func lowercased(_ key: String) -> String {
        key.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? key.lowercased() : key
    }

    /// Whether `key` names a binary header.
    public static func isBinary(_ key: String) -> Bool {
        Self.lowercased(key).hasSuffix("-bin")
    }

    /// Decodes a `-bin` header value: base64, padded or not (PROTOCOL-HTTP2.md requires both to
    /// be accepted). Several values joined by commas are decoded one by one.
    public static func decodeBinary(_ text: Substring) -> [UInt8]? {
        var result: [UInt8] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            var base64 = part.trimmingCharacters(in: .whitespaces)
            while base64.count % 4 != 0 { base64.append("=") }
            guard let data = Data(base64Encoded: base64) else { return nil }
            result += data
        }
        return result
    }

    /// Encodes a binary value as unpadded base64, which every implementation accepts.
    public static func encodeBinary(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
