#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How one protobuf field type is read, measured and written.
///
/// One codec per `.proto` scalar type (`int32` and `sint32` are both `Int32` in Swift but
/// different codecs), plus ``ProtoEnumCodec`` and ``ProtoMessageCodec``. Generated code names
/// the codec and the generic helpers on ``WireReader``, ``SizeCache`` and ``WireWriter`` do
/// the rest, so repeated fields, packing and maps are written once here.
public protocol FieldCodec {
    /// The Swift type of the field.
    associatedtype Value: Sendable & Hashable
    /// The wire type of one unpacked value.
    static var wireType: WireType { get }
    /// The value of an absent map key or value.
    static var defaultValue: Value { get }
    /// Reads one value.
    static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Value
    /// Reads one value, or nil when a closed enum does not know it.
    static func readIfKnown(from reader: inout WireReader, fieldNumber: Int) throws -> Value?
    /// The encoded size of one value, length prefix included for length-delimited types.
    static func size(of value: Value, cache: inout SizeCache) -> Int
    /// Writes one value, length prefix included for length-delimited types.
    static func write(_ value: Value, to writer: inout WireWriter)
}

extension FieldCodec {
    @inlinable
    public static func readIfKnown(from reader: inout WireReader, fieldNumber: Int) throws -> Value? {
        try read(from: &reader, fieldNumber: fieldNumber)
    }
}

/// A scalar codec whose repeated fields may be packed.
public protocol PackableCodec: FieldCodec {
    /// The size of every value when it is fixed (4 or 8), or nil for varints.
    static var fixedSize: Int? { get }
    /// Whether a `Value` in memory is its wire bytes on a little-endian machine (the fixed-width
    /// integers and floats), so that a packed run is copied into the array whole.
    static var storesWireBytes: Bool { get }
}

extension PackableCodec {
    @inlinable
    public static var storesWireBytes: Bool { false }
}

/// A codec usable as a map key, with the order deterministic encoding sorts by.
public protocol MapKeyCodec: FieldCodec {
    /// Whether `lhs` sorts before `rhs`.
    static func less(_ lhs: Value, _ rhs: Value) -> Bool
}

extension MapKeyCodec where Value: Comparable {
    @inlinable
    public static func less(_ lhs: Value, _ rhs: Value) -> Bool { lhs < rhs }
}

// MARK: - Varint codecs

/// `int32`: sign-extended to 64 bits on the wire, so negatives take ten bytes.
public enum ProtoInt32: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: Int32 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int32 {
        Int32(truncatingIfNeeded: try reader.readVarint())
    }
    @inlinable public static func size(of value: Int32, cache: inout SizeCache) -> Int {
        WireSize.varint(UInt64(bitPattern: Int64(value)))
    }
    @inlinable public static func write(_ value: Int32, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(bitPattern: Int64(value)))
    }
}

/// `int64`.
public enum ProtoInt64: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: Int64 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int64 {
        Int64(bitPattern: try reader.readVarint())
    }
    @inlinable public static func size(of value: Int64, cache: inout SizeCache) -> Int {
        WireSize.varint(UInt64(bitPattern: value))
    }
    @inlinable public static func write(_ value: Int64, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(bitPattern: value))
    }
}

/// `uint32`.
public enum ProtoUInt32: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: UInt32 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try reader.readVarint())
    }
    @inlinable public static func size(of value: UInt32, cache: inout SizeCache) -> Int {
        WireSize.varint(UInt64(value))
    }
    @inlinable public static func write(_ value: UInt32, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(value))
    }
}

/// `uint64`.
public enum ProtoUInt64: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: UInt64 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> UInt64 {
        try reader.readVarint()
    }
    @inlinable public static func size(of value: UInt64, cache: inout SizeCache) -> Int {
        WireSize.varint(value)
    }
    @inlinable public static func write(_ value: UInt64, to writer: inout WireWriter) {
        writer.writeVarint(value)
    }
}

/// `sint32`: ZigZag-encoded varint.
public enum ProtoSInt32: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: Int32 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int32 {
        ZigZag.decode32(UInt32(truncatingIfNeeded: try reader.readVarint()))
    }
    @inlinable public static func size(of value: Int32, cache: inout SizeCache) -> Int {
        WireSize.varint(UInt64(ZigZag.encode32(value)))
    }
    @inlinable public static func write(_ value: Int32, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(ZigZag.encode32(value)))
    }
}

/// `sint64`: ZigZag-encoded varint.
public enum ProtoSInt64: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: Int64 { 0 }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int64 {
        ZigZag.decode64(try reader.readVarint())
    }
    @inlinable public static func size(of value: Int64, cache: inout SizeCache) -> Int {
        WireSize.varint(ZigZag.encode64(value))
    }
    @inlinable public static func write(_ value: Int64, to writer: inout WireWriter) {
        writer.writeVarint(ZigZag.encode64(value))
    }
}

/// `bool`.
public enum ProtoBool: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: Bool { false }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Bool {
        try reader.readVarint() != 0
    }
    @inlinable public static func size(of value: Bool, cache: inout SizeCache) -> Int { 1 }
    @inlinable public static func write(_ value: Bool, to writer: inout WireWriter) {
        writer.writeVarint(value ? 1 : 0)
    }
    @inlinable public static func less(_ lhs: Bool, _ rhs: Bool) -> Bool { !lhs && rhs }
}

// MARK: - Fixed-width codecs

/// `fixed32`.
public enum ProtoFixed32: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .fixed32 }
    public static var defaultValue: UInt32 { 0 }
    public static var fixedSize: Int? { 4 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> UInt32 {
        try reader.readFixed32()
    }
    @inlinable public static func size(of value: UInt32, cache: inout SizeCache) -> Int { 4 }
    @inlinable public static func write(_ value: UInt32, to writer: inout WireWriter) { writer.writeFixed32(value) }
}

/// `sfixed32`.
public enum ProtoSFixed32: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .fixed32 }
    public static var defaultValue: Int32 { 0 }
    public static var fixedSize: Int? { 4 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int32 {
        Int32(bitPattern: try reader.readFixed32())
    }
    @inlinable public static func size(of value: Int32, cache: inout SizeCache) -> Int { 4 }
    @inlinable public static func write(_ value: Int32, to writer: inout WireWriter) {
        writer.writeFixed32(UInt32(bitPattern: value))
    }
}

/// `fixed64`.
public enum ProtoFixed64: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .fixed64 }
    public static var defaultValue: UInt64 { 0 }
    public static var fixedSize: Int? { 8 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> UInt64 {
        try reader.readFixed64()
    }
    @inlinable public static func size(of value: UInt64, cache: inout SizeCache) -> Int { 8 }
    @inlinable public static func write(_ value: UInt64, to writer: inout WireWriter) { writer.writeFixed64(value) }
}

/// `sfixed64`.
public enum ProtoSFixed64: PackableCodec, MapKeyCodec {
    public static var wireType: WireType { .fixed64 }
    public static var defaultValue: Int64 { 0 }
    public static var fixedSize: Int? { 8 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Int64 {
        Int64(bitPattern: try reader.readFixed64())
    }
    @inlinable public static func size(of value: Int64, cache: inout SizeCache) -> Int { 8 }
    @inlinable public static func write(_ value: Int64, to writer: inout WireWriter) {
        writer.writeFixed64(UInt64(bitPattern: value))
    }
}

/// `float`.
public enum ProtoFloat: PackableCodec {
    public static var wireType: WireType { .fixed32 }
    public static var defaultValue: Float { 0 }
    public static var fixedSize: Int? { 4 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Float {
        Float(bitPattern: try reader.readFixed32())
    }
    @inlinable public static func size(of value: Float, cache: inout SizeCache) -> Int { 4 }
    @inlinable public static func write(_ value: Float, to writer: inout WireWriter) {
        writer.writeFixed32(value.bitPattern)
    }
}

/// `double`.
public enum ProtoDouble: PackableCodec {
    public static var wireType: WireType { .fixed64 }
    public static var defaultValue: Double { 0 }
    public static var fixedSize: Int? { 8 }
    @inlinable public static var storesWireBytes: Bool { true }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Double {
        Double(bitPattern: try reader.readFixed64())
    }
    @inlinable public static func size(of value: Double, cache: inout SizeCache) -> Int { 8 }
    @inlinable public static func write(_ value: Double, to writer: inout WireWriter) {
        writer.writeFixed64(value.bitPattern)
    }
}

// MARK: - Length-delimited codecs

/// `string`: UTF-8, validated on decode.
public enum ProtoString: MapKeyCodec {
    public static var wireType: WireType { .lengthDelimited }
    public static var defaultValue: String { "" }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> String {
        try reader.readString(fieldNumber: fieldNumber)
    }
    @inlinable public static func size(of value: String, cache: inout SizeCache) -> Int {
        WireSize.lengthDelimited(value.utf8.count)
    }
    @inlinable public static func write(_ value: String, to writer: inout WireWriter) {
        writer.writeString(value)
    }
    /// Byte-wise UTF-8 order, as the C++ and upb runtimes sort map keys; Swift's own `<`
    /// follows Unicode canonical ordering instead.
    @inlinable public static func less(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}

/// `bytes`.
public enum ProtoBytes: FieldCodec {
    public static var wireType: WireType { .lengthDelimited }
    public static var defaultValue: Data { Data() }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> Data {
        try reader.readBytes()
    }
    @inlinable public static func size(of value: Data, cache: inout SizeCache) -> Int {
        WireSize.lengthDelimited(value.count)
    }
    @inlinable public static func write(_ value: Data, to writer: inout WireWriter) {
        writer.writeBytes(value)
    }
}

/// An enum field. For a closed enum ``readIfKnown(from:fieldNumber:)`` returns nil on an
/// unknown value so the caller can keep it as an unknown field.
public enum ProtoEnumCodec<E: ProtoEnum>: PackableCodec {
    public static var wireType: WireType { .varint }
    public static var defaultValue: E { E() }
    public static var fixedSize: Int? { nil }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> E {
        try readIfKnown(from: &reader, fieldNumber: fieldNumber) ?? E()
    }
    @inlinable public static func readIfKnown(from reader: inout WireReader, fieldNumber: Int) throws -> E? {
        E(rawValue: Int(Int32(truncatingIfNeeded: try reader.readVarint())))
    }
    @inlinable public static func size(of value: E, cache: inout SizeCache) -> Int {
        WireSize.varint(UInt64(bitPattern: Int64(value.rawValue)))
    }
    @inlinable public static func write(_ value: E, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(bitPattern: Int64(value.rawValue)))
    }
}

/// An embedded message, length-prefixed, its size taken from the ``SizeCache``.
public enum ProtoMessageCodec<M: Message>: FieldCodec {
    public static var wireType: WireType { .lengthDelimited }
    public static var defaultValue: M { M() }
    @inlinable public static func read(from reader: inout WireReader, fieldNumber: Int) throws -> M {
        var message = M()
        try reader.mergeMessage(into: &message)
        return message
    }
    @inlinable public static func size(of value: M, cache: inout SizeCache) -> Int {
        let slot = cache.reserveSlot()
        let size = value.computeSize(&cache)
        cache.fill(slot, with: size)
        return WireSize.lengthDelimited(size)
    }
    @inlinable public static func write(_ value: M, to writer: inout WireWriter) {
        writer.writeVarint(UInt64(writer.takeCachedSize()))
        value.encode(to: &writer)
    }
}
