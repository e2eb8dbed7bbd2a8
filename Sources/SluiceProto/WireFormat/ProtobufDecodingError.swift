/// The error every decoding failure throws: what went wrong and where.
///
/// Decoding never traps on bad input; each malformed byte sequence maps to one ``Kind``.
public struct ProtobufDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong with the input.
    public enum Kind: Hashable, Sendable {
        /// The input ended in the middle of a tag, a value or a length-delimited field.
        case truncated
        /// A tag carried wire type 6 or 7.
        case invalidWireType(UInt8)
        /// A tag carried field number 0 or one above 2^29 - 1.
        case invalidFieldNumber(UInt64)
        /// A varint ran past ten bytes.
        case malformedVarint
        /// A length prefix pointed beyond the end of the enclosing message.
        case lengthExceedsBuffer(length: UInt64, remaining: Int)
        /// A `string` field did not hold valid UTF-8.
        case invalidUTF8(field: Int)
        /// A proto2 `required` field was absent.
        case missingRequiredField(message: String, field: String)
        /// Messages and groups nested deeper than ``DecodingOptions/recursionLimit``.
        case recursionLimitExceeded(limit: Int)
        /// An end-group tag that closes no open group, or closes the wrong one.
        case unmatchedEndGroup(field: Int)
        /// A group that the input ended before closing.
        case unterminatedGroup(field: Int)
        /// The input is larger than ``DecodingOptions/maximumMessageSize``.
        case messageTooLarge(size: Int, limit: Int)
    }

    /// What was wrong.
    public var kind: Kind
    /// Byte offset into the top-level input where the problem was found.
    public var offset: Int

    /// Creates an error of `kind` found at byte `offset`.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .truncated: what = "input ends inside a field"
        case .invalidWireType(let t): what = "invalid wire type \(t)"
        case .invalidFieldNumber(let n): what = "invalid field number \(n)"
        case .malformedVarint: what = "varint longer than 10 bytes"
        case .lengthExceedsBuffer(let length, let remaining):
            what = "length \(length) exceeds the \(remaining) bytes left"
        case .invalidUTF8(let field): what = "field \(field) is not valid UTF-8"
        case .missingRequiredField(let message, let field):
            what = "required field \(message).\(field) is missing"
        case .recursionLimitExceeded(let limit): what = "nesting deeper than \(limit)"
        case .unmatchedEndGroup(let field): what = "end-group tag for field \(field) closes no open group"
        case .unterminatedGroup(let field): what = "group \(field) is never closed"
        case .messageTooLarge(let size, let limit): what = "message of \(size) bytes exceeds the \(limit)-byte limit"
        }
        return "protobuf decoding failed at byte \(offset): \(what)"
    }
}

/// Limits and switches for decoding.
public struct DecodingOptions: Sendable, Hashable {
    /// How deep messages and groups may nest. 100 matches the C++, Java and Go runtimes.
    public var recursionLimit: Int = 100
    /// Largest input accepted, in bytes. Protobuf's own limit is 2 GiB; gRPC lowers it per call.
    public var maximumMessageSize: Int = Int(Int32.max)
    /// When true, missing proto2 `required` fields are not an error (C++ `ParsePartial`).
    public var allowPartial: Bool = false

    /// Options with the defaults above.
    public init() {}
}

extension ProtobufDecodingError {
    /// A proto2 required field missing after decoding; found after the fact, so at no offset.
    public static func missingRequiredField(message: String, field: String) -> ProtobufDecodingError {
        ProtobufDecodingError(.missingRequiredField(message: message, field: field), at: -1)
    }
}
