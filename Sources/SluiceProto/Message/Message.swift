#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A protocol buffer message: a value type that reads and writes the wire format.
///
/// Generated types implement the four requirements; everything a user calls comes from the
/// extensions below. Equality and hashing are memberwise, unknown fields included.
public protocol Message: Sendable, Hashable {
    /// The message's fully qualified protobuf name, such as `google.protobuf.Timestamp`.
    static var protoMessageName: String { get }

    /// An empty message: every field at its default.
    init()

    /// Fields read from the wire that this message's schema does not define.
    var unknownFields: UnknownFields { get set }

    /// Decodes one field whose tag has been read, merging it into `self` by the spec's
    /// rules: the last scalar wins, repeated fields append, embedded messages merge.
    mutating func decodeField(number: Int, wireType: WireType, from reader: inout WireReader) throws

    /// The encoded size, recording every embedded message's size in `cache` in pre-order.
    func computeSize(_ cache: inout SizeCache) -> Int

    /// Writes the fields in field-number order, then the unknown fields.
    func encode(to writer: inout WireWriter)

    /// Throws if a proto2 `required` field here or in an embedded message is unset.
    func checkRequiredFields() throws
}

extension Message {
    /// Messages without required fields have nothing to check.
    @inlinable
    public func checkRequiredFields() throws {}

    /// A message built in one expression, as with swift-protobuf:
    /// `let user = User.with { $0.name = "Ada" }`.
    @inlinable
    public static func with(_ populate: (inout Self) throws -> Void) rethrows -> Self {
        var message = Self()
        try populate(&message)
        return message
    }

    /// Decodes fields until the end of the current message or group.
    @inlinable
    public mutating func mergeFields(from reader: inout WireReader) throws {
        while let (number, wireType) = try reader.nextTag() {
            try decodeField(number: number, wireType: wireType, from: &reader)
        }
    }

    /// Decodes a message from wire-format bytes.
    @inlinable
    public init<Bytes: ContiguousBytes>(serializedBytes bytes: Bytes, options: DecodingOptions = DecodingOptions()) throws {
        self.init()
        try merge(serializedBytes: bytes, options: options)
    }

    /// Merges wire-format bytes into this message, as if they were appended to its encoding.
    @inlinable
    public mutating func merge<Bytes: ContiguousBytes>(serializedBytes bytes: Bytes, options: DecodingOptions = DecodingOptions()) throws {
        try WireReader.withReader(over: bytes, options: options) { reader in
            try mergeFields(from: &reader)
        }
        if !options.allowPartial { try checkRequiredFields() }
    }

    /// The encoded size in bytes.
    @inlinable
    public var serializedSize: Int {
        var cache = SizeCache()
        return computeSize(&cache)
    }

    /// Encodes to wire-format bytes.
    ///
    /// - Parameter deterministic: Write map entries in key order, so that equal messages
    ///   give equal bytes (as C++ `SetSerializationDeterministic` and Python's
    ///   `deterministic=True`). Off by default, as everywhere else, because sorting costs.
    @inlinable
    public func serializedBytes(deterministic: Bool = false) -> [UInt8] {
        var cache = SizeCache(deterministic: deterministic)
        let size = computeSize(&cache)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var writer = WireWriter(buffer: UnsafeMutableRawBufferPointer(buffer), sizes: cache)
            encode(to: &writer)
            precondition(writer.count == size, "Message.encode wrote less than computeSize measured")
            count = size
        }
    }

    /// Encodes to wire-format bytes as `Data`.
    @inlinable
    public func serializedData(deterministic: Bool = false) -> Data {
        var cache = SizeCache(deterministic: deterministic)
        let size = computeSize(&cache)
        var data = Data(count: size)
        data.withUnsafeMutableBytes { buffer in
            var writer = WireWriter(buffer: buffer, sizes: cache)
            encode(to: &writer)
            precondition(writer.count == size, "Message.encode wrote less than computeSize measured")
        }
        return data
    }
}
