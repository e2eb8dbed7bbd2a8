#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How one protobuf field type reads and writes JSON, beside its binary ``FieldCodec``.
///
/// The same codec types that generated code names for the wire format conform, so a field's
/// JSON is chosen by the codec it already has: `ProtoInt64` writes a string, `ProtoFloat`
/// writes `"NaN"`, `ProtoBytes` base64, `ProtoEnumCodec` the value's name.
public protocol JSONFieldCodec: FieldCodec, SendableMetatype {
    /// Whether `null` is a value of this type rather than "not set" (`Value`, `NullValue`).
    static var acceptsJSONNull: Bool { get }
    /// Writes one value.
    static func writeJSON(_ value: Value, to encoder: inout ProtoJSONEncoder) throws
    /// Reads the next value, or nil when the value is to be skipped: an enum name the schema
    /// does not know, with ``JSONDecodingOptions/ignoreUnknownFields`` set.
    static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Value?
}

extension JSONFieldCodec {
    public static var acceptsJSONNull: Bool { false }
}

/// A map key type: JSON object keys are strings, so keys of every type are written as one.
public protocol JSONMapKeyCodec: JSONFieldCodec, MapKeyCodec {
    /// The key as an object member name.
    static func jsonMapKey(_ key: Value) -> String
    /// The key from an object member name.
    static func readJSONMapKey(_ name: String) throws -> Value
}

/// The integer codecs: numbers in JSON, or strings for the 64-bit ones (JavaScript's numbers
/// lose integers beyond 2^53).
public protocol JSONIntegerCodec: JSONMapKeyCodec where Value: FixedWidthInteger {
    /// The `.proto` type name, for errors.
    static var protoTypeName: String { get }
}

extension JSONIntegerCodec {
    @inlinable
    public static func writeJSON(_ value: Value, to encoder: inout ProtoJSONEncoder) throws {
        encoder.writeInteger(value, quoted: Value.bitWidth == 64)
    }

    @inlinable
    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Value? {
        try decoder.readInteger(Value.self, typeName: protoTypeName)
    }

    public static func jsonMapKey(_ key: Value) -> String { String(key) }

    public static func readJSONMapKey(_ name: String) throws -> Value {
        try JSONNumbers.integer(.string(name), as: Value.self, typeName: protoTypeName)
    }
}

extension ProtoInt32: JSONIntegerCodec { public static var protoTypeName: String { "int32" } }
extension ProtoInt64: JSONIntegerCodec { public static var protoTypeName: String { "int64" } }
extension ProtoUInt32: JSONIntegerCodec { public static var protoTypeName: String { "uint32" } }
extension ProtoUInt64: JSONIntegerCodec { public static var protoTypeName: String { "uint64" } }
extension ProtoSInt32: JSONIntegerCodec { public static var protoTypeName: String { "sint32" } }
extension ProtoSInt64: JSONIntegerCodec { public static var protoTypeName: String { "sint64" } }
extension ProtoFixed32: JSONIntegerCodec { public static var protoTypeName: String { "fixed32" } }
extension ProtoFixed64: JSONIntegerCodec { public static var protoTypeName: String { "fixed64" } }
extension ProtoSFixed32: JSONIntegerCodec { public static var protoTypeName: String { "sfixed32" } }
extension ProtoSFixed64: JSONIntegerCodec { public static var protoTypeName: String { "sfixed64" } }

extension ProtoBool: JSONMapKeyCodec {
    public static func writeJSON(_ value: Bool, to encoder: inout ProtoJSONEncoder) throws {
        encoder.writeBool(value)
    }

    @inlinable
    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Bool? {
        try decoder.readBool()
    }

    public static func jsonMapKey(_ key: Bool) -> String { key ? "true" : "false" }

    public static func readJSONMapKey(_ name: String) throws -> Bool {
        switch name {
        case "true": return true
        case "false": return false
        default: throw JSONDecodingError(.invalidValue("map key \"\(name)\" is not \"true\" or \"false\""))
        }
    }
}

extension ProtoDouble: JSONFieldCodec {
    public static func writeJSON(_ value: Double, to encoder: inout ProtoJSONEncoder) throws {
        JSONNumbers.write(value, to: &encoder)
    }

    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Double? {
        try decoder.readDouble(typeName: "double")
    }
}

extension ProtoFloat: JSONFieldCodec {
    public static func writeJSON(_ value: Float, to encoder: inout ProtoJSONEncoder) throws {
        JSONNumbers.write(value, to: &encoder)
    }

    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Float? {
        let value = try decoder.readDouble(typeName: "float")
        // As protobuf's parsers do: finite doubles beyond float's range are errors, not
        // infinities.
        guard value.isNaN || value.isInfinite || abs(value) <= Double(Float.greatestFiniteMagnitude) else {
            throw JSONDecodingError(.invalidValue("\(value) is out of range for float"))
        }
        return Float(value)
    }
}

extension ProtoString: JSONMapKeyCodec {
    public static func writeJSON(_ value: String, to encoder: inout ProtoJSONEncoder) throws {
        encoder.writeString(value)
    }

    @inlinable
    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> String? {
        try decoder.readString()
    }

    public static func jsonMapKey(_ key: String) -> String { key }
    public static func readJSONMapKey(_ name: String) throws -> String { name }
}

extension ProtoBytes: JSONFieldCodec {
    public static func writeJSON(_ value: Data, to encoder: inout ProtoJSONEncoder) throws {
        encoder.writeString(Base64.encode(value))
    }

    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> Data? {
        let text = try decoder.readString(expected: "a base64 string")
        guard let bytes = Base64.decodeJSON(text) else {
            throw JSONDecodingError(.invalidValue("\(JSONNumbers.quoted(text)) is not base64"))
        }
        return Data(bytes)
    }
}

extension ProtoEnumCodec: JSONFieldCodec where E: JSONEnum {
    public static var acceptsJSONNull: Bool { E.isNullValue }

    public static func writeJSON(_ value: E, to encoder: inout ProtoJSONEncoder) throws {
        if encoder.options.enumsAsIntegers {
            // Python's json_format writes even NullValue as its number with this option.
            encoder.writeRaw(String(value.rawValue))
        } else if E.isNullValue {
            encoder.writeNull()
        } else if let name = value.protoName {
            encoder.writeString(name)
        } else {
            encoder.writeRaw(String(value.rawValue))
        }
    }

    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> E? {
        switch decoder.scanner.peekKind() {
        case .null where E.isNullValue:
            _ = try decoder.scanner.consumeNull()
            return E()
        case .string:
            let name = try decoder.readString()
            if let value = E(protoName: name) { return value }
            if decoder.skipsUnknownEnumValues { return nil }
            throw JSONDecodingError(.invalidValue("the enum has no value named \(JSONNumbers.quoted(name))"))
        case .number:
            let number = try decoder.readInteger(Int32.self, typeName: "enum")
            if let value = E(rawValue: Int(number)) { return value }
            // Only a closed (proto2) enum refuses a number.
            if decoder.skipsUnknownEnumValues { return nil }
            throw JSONDecodingError(.invalidValue("the enum has no value \(number)"))
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an enum value's name or number", found: try decoder.scanner.describeNextValue()))
        }
    }
}

extension ProtoMessageCodec: JSONFieldCodec where M: JSONMessage {
    public static var acceptsJSONNull: Bool { M.acceptsJSONNull }

    public static func writeJSON(_ value: M, to encoder: inout ProtoJSONEncoder) throws {
        try value.encodeJSON(to: &encoder)
    }

    @inlinable
    public static func readJSON(from decoder: inout ProtoJSONDecoder) throws -> M? {
        var message = M()
        try message.mergeJSON(from: &decoder)
        return message
    }
}

extension Base64 {
    /// Decodes base64 as the JSON mapping accepts it: the standard or the URL-safe alphabet,
    /// padded or not; no whitespace.
    static func decodeJSON(_ text: String) -> [UInt8]? {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"): normalized.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): normalized.append(UInt8(ascii: "/"))
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): return nil
            default: normalized.append(byte)
            }
        }
        let padding = normalized.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        guard padding <= 2, (normalized.count - padding) % 4 != 1 else { return nil }
        if padding > 0, normalized.count % 4 != 0 { return nil }
        return decode(String(decoding: normalized, as: UTF8.self))
    }
}
