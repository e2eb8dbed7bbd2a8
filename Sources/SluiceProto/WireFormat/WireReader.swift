#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A cursor over protobuf wire-format bytes.
///
/// The reader never copies its input: it walks a borrowed buffer that outlives it (see
/// ``Message/init(serializedBytes:options:)``). Nested messages are decoded by narrowing
/// `limit` rather than slicing, so a deep message costs no allocation per level.
///
/// Hot methods are `@inlinable` so that generated code in other modules specializes them;
/// the benchmarks in `Benchmarks/` measure the difference.
public struct WireReader {
    @usableFromInline let base: UnsafeRawPointer
    /// Offset of the next byte to read.
    @usableFromInline var position: Int
    /// Offset one past the last byte of the message being decoded.
    @usableFromInline var limit: Int
    /// Offset of the tag of the field being decoded, for capturing unknown fields.
    @usableFromInline var fieldStart: Int = 0
    /// Current nesting depth of messages and groups.
    @usableFromInline var depth: Int = 0
    /// Field number of the innermost open group, or 0 outside any group.
    @usableFromInline var openGroup: Int = 0
    /// The options this decode runs under.
    public let options: DecodingOptions

    /// Creates a reader over `buffer`, which must outlive the reader.
    @usableFromInline
    init(buffer: UnsafeRawBufferPointer, options: DecodingOptions) {
        // An empty buffer may have a nil base address; no byte is ever read from it then,
        // because every read first checks `position < limit` with limit == 0.
        self.base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        self.position = 0
        self.limit = buffer.count
        self.options = options
    }

    /// Whether the current message has bytes left.
    @inlinable
    public var isAtEnd: Bool { position >= limit }

    @inlinable
    func error(_ kind: ProtobufDecodingError.Kind) -> ProtobufDecodingError {
        ProtobufDecodingError(kind, at: position)
    }

    // MARK: - Tags

    /// Reads the next tag, or returns nil at the end of the current message or group.
    @inlinable
    public mutating func nextTag() throws -> (fieldNumber: Int, wireType: WireType)? {
        if position >= limit {
            if openGroup != 0 { throw error(.unterminatedGroup(field: openGroup)) }
            return nil
        }
        fieldStart = position
        let raw = try readVarint()
        let number = raw >> 3
        guard number != 0, number <= UInt64(FieldNumber.max) else {
            throw ProtobufDecodingError(.invalidFieldNumber(number), at: fieldStart)
        }
        guard let wireType = WireType(rawValue: UInt8(truncatingIfNeeded: raw & 7)) else {
            throw ProtobufDecodingError(.invalidWireType(UInt8(truncatingIfNeeded: raw & 7)), at: fieldStart)
        }
        if wireType == .endGroup {
            guard openGroup == Int(number) else {
                throw ProtobufDecodingError(.unmatchedEndGroup(field: Int(number)), at: fieldStart)
            }
            return nil
        }
        return (Int(number), wireType)
    }

    // MARK: - Primitive reads

    /// Reads a base-128 varint of at most ten bytes.
    @inlinable
    public mutating func readVarint() throws -> UInt64 {
        // Fast path: one byte, the common case for tags, small ints, bools and enums.
        if position < limit {
            let first = base.load(fromByteOffset: position, as: UInt8.self)
            if first < 0x80 {
                position += 1
                return UInt64(first)
            }
        }
        return try readVarintSlow()
    }

    @usableFromInline
    mutating func readVarintSlow() throws -> UInt64 {
        if limit - position >= 10 {
            // Enough bytes for the longest varint: no bounds check per byte, and no branch per
            // byte either (on packed runs of mixed lengths each one was mispredicted). Eight
            // bytes are loaded at once; the first without a continuation bit ends the varint,
            // and the seven-bit groups before it are gathered with shifts and masks.
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let stops = ~word & 0x8080_8080_8080_8080
            if stops != 0 {
                let length = stops.trailingZeroBitCount / 8 + 1
                let kept = length == 8 ? word : word & ((1 << (8 * UInt64(length))) &- 1)
                position += length
                return Self.gatherSevenBitGroups(kept)
            }
            // Nine or ten bytes: the ninth carries seven bits more, the tenth only the top bit.
            let ninth = UInt64(base.load(fromByteOffset: position + 8, as: UInt8.self))
            var result = Self.gatherSevenBitGroups(word) | (ninth & 0x7F) << 56
            if ninth < 0x80 {
                position += 9
                return result
            }
            let tenth = UInt64(base.load(fromByteOffset: position + 9, as: UInt8.self))
            if tenth <= 1 {
                result |= tenth << 63
                position += 10
                return result
            }
            // Malformed: reported, with its offset, by the checked loop below.
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < limit else { throw error(.truncated) }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            if shift == 63 && byte > 1 {
                // The tenth byte may only carry the top bit of a 64-bit value; anything
                // more (or an eleventh byte) is a malformed varint.
                throw error(.malformedVarint)
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// The low seven bits of each of the eight bytes of `word`, byte k's at bit 7k: a
    /// varint's value from its bytes (continuation bits dropped, bytes past its end zero).
    @inlinable @inline(__always)
    static func gatherSevenBitGroups(_ word: UInt64) -> UInt64 {
        word & 0x7F
            | (word >> 1) & (0x7F << 7)
            | (word >> 2) & (0x7F << 14)
            | (word >> 3) & (0x7F << 21)
            | (word >> 4) & (0x7F << 28)
            | (word >> 5) & (0x7F << 35)
            | (word >> 6) & (0x7F << 42)
            | (word >> 7) & (0x7F << 49)
    }

    /// Reads four little-endian bytes.
    @inlinable
    public mutating func readFixed32() throws -> UInt32 {
        guard limit - position >= 4 else { throw error(.truncated) }
        let value = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position += 4
        return UInt32(littleEndian: value)
    }

    /// Reads eight little-endian bytes.
    @inlinable
    public mutating func readFixed64() throws -> UInt64 {
        guard limit - position >= 8 else { throw error(.truncated) }
        let value = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return UInt64(littleEndian: value)
    }

    /// Reads a length prefix and checks that many bytes remain in the current message.
    @inlinable
    public mutating func readLength() throws -> Int {
        let length = try readVarint()
        let remaining = limit - position
        guard length <= UInt64(remaining) else {
            throw error(.lengthExceedsBuffer(length: length, remaining: remaining))
        }
        return Int(length)
    }

    /// Reads a length-delimited payload as a borrowed buffer valid while the input is.
    @inlinable
    public mutating func readLengthDelimited() throws -> UnsafeRawBufferPointer {
        let length = try readLength()
        let start = base + position
        position += length
        return UnsafeRawBufferPointer(start: start, count: length)
    }

    /// Reads a `string` field, validating UTF-8.
    @inlinable
    public mutating func readString(fieldNumber: Int) throws -> String {
        let bytes = try readLengthDelimited()
        if bytes.isEmpty { return "" }
        // The input buffers are byte arrays and Data, whose memory is bound to UInt8.
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        guard UTF8Validation.isValid(utf8) else {
            throw ProtobufDecodingError(.invalidUTF8(field: fieldNumber), at: fieldStart)
        }
        // Valid input is copied as is: `decoding` repairs nothing here.
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Reads a `bytes` field.
    @inlinable
    public mutating func readBytes() throws -> Data {
        let bytes = try readLengthDelimited()
        return bytes.isEmpty ? Data() : Data(bytes)
    }

    // MARK: - Nested messages

    /// Merges a length-delimited embedded message into `message`.
    @inlinable
    public mutating func mergeMessage<M: Message>(into message: inout M) throws {
        let length = try readLength()
        let outerLimit = limit
        let outerGroup = openGroup
        limit = position + length
        openGroup = 0
        depth += 1
        guard depth <= options.recursionLimit else {
            throw error(.recursionLimitExceeded(limit: options.recursionLimit))
        }
        try message.mergeFields(from: &self)
        depth -= 1
        openGroup = outerGroup
        limit = outerLimit
    }

    /// Merges a proto2 group (its start tag already read) into `message`.
    @inlinable
    public mutating func mergeGroup<M: Message>(into message: inout M, fieldNumber: Int) throws {
        let outerGroup = openGroup
        openGroup = fieldNumber
        depth += 1
        guard depth <= options.recursionLimit else {
            throw error(.recursionLimitExceeded(limit: options.recursionLimit))
        }
        try message.mergeFields(from: &self)
        depth -= 1
        openGroup = outerGroup
    }

    // MARK: - Unknown fields

    /// Skips the value of the current field and appends the whole field, tag included,
    /// to `unknownFields`, so that it is written back unchanged.
    @inlinable
    public mutating func skipField(wireType: WireType, fieldNumber: Int, into unknownFields: inout UnknownFields) throws {
        try skipValue(wireType: wireType, fieldNumber: fieldNumber)
        unknownFields.append(UnsafeRawBufferPointer(start: base + fieldStart, count: position - fieldStart))
    }

    /// Appends the field just read (tag through current position) to `unknownFields`.
    ///
    /// Used for values a closed enum does not know: they are kept as unknown fields.
    @inlinable
    public func captureField(into unknownFields: inout UnknownFields) {
        unknownFields.append(UnsafeRawBufferPointer(start: base + fieldStart, count: position - fieldStart))
    }

    /// Skips one value of `wireType`, including a whole group.
    @usableFromInline
    mutating func skipValue(wireType: WireType, fieldNumber: Int) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed32: _ = try readFixed32()
        case .fixed64: _ = try readFixed64()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup:
            let outerGroup = openGroup
            let start = fieldStart
            openGroup = fieldNumber
            depth += 1
            guard depth <= options.recursionLimit else {
                throw error(.recursionLimitExceeded(limit: options.recursionLimit))
            }
            while let (number, type) = try nextTag() {
                try skipValue(wireType: type, fieldNumber: number)
            }
            depth -= 1
            openGroup = outerGroup
            fieldStart = start
        case .endGroup:
            throw error(.unmatchedEndGroup(field: fieldNumber))
        }
    }
}

extension WireReader {
    /// Runs `body` with a reader over `bytes`.
    @inlinable
    static func withReader<Bytes: ContiguousBytes, R>(
        over bytes: Bytes,
        options: DecodingOptions,
        _ body: (inout WireReader) throws -> R
    ) throws -> R {
        try bytes.withUnsafeBytes { buffer in
            guard buffer.count <= options.maximumMessageSize else {
                throw ProtobufDecodingError(.messageTooLarge(size: buffer.count, limit: options.maximumMessageSize), at: 0)
            }
            var reader = WireReader(buffer: buffer, options: options)
            return try body(&reader)
        }
    }
}
