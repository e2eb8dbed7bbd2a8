#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes protobuf wire format into a buffer whose exact size was computed beforehand.
///
/// Encoding is two linear passes. ``Message/computeSize(_:)`` walks the message once and
/// records the size of every embedded message in a ``SizeCache``, in pre-order; the
/// writer then walks it again and takes each length prefix from the cache instead of
/// measuring the sub-message again. Each byte of the output is measured once and written
/// once, whatever the nesting depth: swift-protobuf re-measures nested messages at every
/// level (its issue 713), which is quadratic in depth.
public struct WireWriter {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int
    @usableFromInline var position: Int = 0
    @usableFromInline var sizes: SizeCache
    @usableFromInline var nextSize: Int = 0

    @usableFromInline
    init(buffer: UnsafeMutableRawBufferPointer, sizes: SizeCache) {
        // `buffer` has a base address whenever capacity > 0; with capacity 0 nothing is written,
        // as every write checks capacity first.
        self.base = buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!
        self.capacity = buffer.count
        self.sizes = sizes
    }

    /// Whether map entries are written in key order, for byte-stable output.
    @inlinable
    public var deterministic: Bool { sizes.deterministic }

    /// Bytes written so far.
    @inlinable
    public var count: Int { position }

    @inlinable
    mutating func reserve(_ n: Int) -> UnsafeMutableRawPointer {
        // The size pass and the write pass are generated from one model and must agree; if a
        // hand-written Message breaks that, stop rather than write past the buffer.
        precondition(capacity - position >= n, "Message.encode wrote more than computeSize measured")
        let pointer = base + position
        position += n
        return pointer
    }

    // MARK: - Primitives

    /// Writes a base-128 varint.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        // One byte (tags, small numbers, lengths under 128) inline at every call site; the
        // rest out of line, so that callers stay small enough to be inlined themselves.
        if value < 0x80, position < capacity {
            (base + position).storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            position += 1
            return
        }
        writeMultiByteVarint(value)
    }

    /// ``writeVarint(_:)`` past its one-byte case.
    @usableFromInline
    mutating func writeMultiByteVarint(_ value: UInt64) {
        if capacity - position >= 10 {
            // Room for the longest varint: its bytes are made in a register and stored at
            // once, with no loop whose exit depends on the value (a branch mispredicted on
            // every packed run of mixed lengths). Bytes stored past the varint lie inside the
            // buffer and are overwritten by what is written next.
            let out = base + position
            let n = WireSize.varint(value)
            let groups = Self.spreadSevenBitGroups(value)
            if n <= 8 {
                // Continuation bits on every byte but the last.
                let continuation: UInt64 = 0x8080_8080_8080_8080 & ((1 << (8 * UInt64(n - 1))) &- 1)
                out.storeBytes(of: (groups | continuation).littleEndian, as: UInt64.self)
            } else {
                out.storeBytes(of: (groups | 0x8080_8080_8080_8080).littleEndian, as: UInt64.self)
                let high = value >> 56
                if n == 9 {
                    out.storeBytes(of: UInt8(truncatingIfNeeded: high), toByteOffset: 8, as: UInt8.self)
                } else {
                    out.storeBytes(of: UInt8(truncatingIfNeeded: high) | 0x80, toByteOffset: 8, as: UInt8.self)
                    out.storeBytes(of: UInt8(truncatingIfNeeded: high >> 7), toByteOffset: 9, as: UInt8.self)
                }
            }
            position += n
            return
        }
        let n = WireSize.varint(value)
        let out = reserve(n)
        var v = value
        var i = 0
        while v >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: i, as: UInt8.self)
            v >>= 7
            i += 1
        }
        out.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
    }

    /// The low 56 bits of `value` as eight bytes of seven bits each, group k in byte k.
    @inlinable @inline(__always)
    static func spreadSevenBitGroups(_ value: UInt64) -> UInt64 {
        value & 0x7F
            | (value << 1) & 0x7F00
            | (value << 2) & 0x7F_0000
            | (value << 3) & 0x7F00_0000
            | (value << 4) & 0x7F_0000_0000
            | (value << 5) & 0x7F00_0000_0000
            | (value << 6) & 0x7F_0000_0000_0000
            | (value << 7) & 0x7F00_0000_0000_0000
    }

    /// Writes a field tag.
    @inlinable
    public mutating func writeTag(_ fieldNumber: Int, _ wireType: WireType) {
        writeVarint(UInt64(fieldNumber) << 3 | UInt64(wireType.rawValue))
    }

    /// Writes four little-endian bytes.
    @inlinable
    public mutating func writeFixed32(_ value: UInt32) {
        reserve(4).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    /// Writes eight little-endian bytes.
    @inlinable
    public mutating func writeFixed64(_ value: UInt64) {
        reserve(8).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    /// Writes raw bytes with no prefix.
    @inlinable
    public mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        // A non-empty buffer always has a base address.
        reserve(bytes.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    /// Writes a length-prefixed UTF-8 string.
    @inlinable
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            writeRaw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Writes length-prefixed bytes.
    @inlinable
    public mutating func writeBytes(_ value: Data) {
        writeVarint(UInt64(value.count))
        value.withUnsafeBytes { writeRaw($0) }
    }

    /// Writes the unknown fields of a message back unchanged.
    @inlinable
    public mutating func writeUnknown(_ fields: UnknownFields) {
        guard !fields.isEmpty else { return }
        fields.bytes.withUnsafeBytes { writeRaw($0) }
    }

    /// Takes the next embedded-message size recorded by the size pass.
    @inlinable
    public mutating func takeCachedSize() -> Int {
        let size = sizes[nextSize]
        nextSize += 1
        return size
    }
}

/// Sizes of embedded messages, recorded by the size pass in the order the write pass needs them.
///
/// The first four sizes are kept inline: a small message (a few embedded messages or packed
/// fields, as RPC payloads usually are) is measured without allocating. Past that, one array.
public struct SizeCache {
    @usableFromInline var inline: (Int, Int, Int, Int) = (0, 0, 0, 0)
    @usableFromInline var overflow: [Int] = []
    @usableFromInline var count = 0
    /// Whether maps are encoded in key order.
    public let deterministic: Bool

    @usableFromInline static var inlineCapacity: Int { 4 }

    /// Creates an empty cache.
    @inlinable
    public init(deterministic: Bool = false) {
        self.deterministic = deterministic
    }

    /// Reserves a slot for a message whose size is about to be computed.
    @inlinable
    public mutating func reserveSlot() -> Int {
        let slot = count
        count += 1
        if slot >= Self.inlineCapacity {
            // One allocation for larger messages instead of a doubling series from 1.
            if overflow.capacity == 0 { overflow.reserveCapacity(32) }
            overflow.append(0)
        }
        return slot
    }

    /// Fills a slot reserved by ``reserveSlot()``.
    @inlinable
    public mutating func fill(_ slot: Int, with size: Int) {
        switch slot {
        case 0: inline.0 = size
        case 1: inline.1 = size
        case 2: inline.2 = size
        case 3: inline.3 = size
        default: overflow[slot - Self.inlineCapacity] = size
        }
    }

    /// The size recorded in `slot`.
    @inlinable
    subscript(slot: Int) -> Int {
        switch slot {
        case 0: return inline.0
        case 1: return inline.1
        case 2: return inline.2
        case 3: return inline.3
        default: return overflow[slot - Self.inlineCapacity]
        }
    }
}

/// Encoded sizes of wire-format primitives.
public enum WireSize {
    /// Bytes a varint of `value` takes (1 to 10).
    @inlinable
    public static func varint(_ value: UInt64) -> Int {
        // Each byte carries 7 bits; `| 1` makes zero take one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// Bytes the tag of `fieldNumber` takes.
    @inlinable
    public static func tag(_ fieldNumber: Int) -> Int {
        varint(UInt64(fieldNumber) << 3)
    }

    /// Bytes a length-delimited payload of `length` bytes takes, with its prefix.
    @inlinable
    public static func lengthDelimited(_ length: Int) -> Int {
        varint(UInt64(length)) + length
    }
}

/// ZigZag encoding for `sint32` and `sint64` (protobuf encoding guide, "Signed Integers").
public enum ZigZag {
    /// Maps signed to unsigned so that small magnitudes encode short.
    @inlinable
    public static func encode32(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    /// Inverse of ``encode32(_:)``.
    @inlinable
    public static func decode32(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Maps signed to unsigned so that small magnitudes encode short.
    @inlinable
    public static func encode64(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Inverse of ``encode64(_:)``.
    @inlinable
    public static func decode64(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
