/// A proto2 extension field: a field number on an extended message, with its codec.
///
/// Extension values live in the extended message's ``UnknownFields``, exactly as they came
/// off the wire, and typed accessors decode them on demand. A message thus never needs to
/// know its extensions to round-trip them, and no registry is needed at decode time.
public struct MessageExtension<Extended: Message, Codec: FieldCodec>: Sendable {
    /// The extension's field number.
    public let fieldNumber: Int
    /// The extension's fully qualified protobuf name.
    public let protoName: String

    /// Declares an extension.
    public init(fieldNumber: Int, protoName: String) {
        self.fieldNumber = fieldNumber
        self.protoName = protoName
    }
}

extension Message {
    /// The value of a singular extension, or nil when absent. When the field occurs more than
    /// once, the last occurrence wins (embedded messages merge), as for any other field.
    public func extensionValue<C: FieldCodec>(_ ext: MessageExtension<Self, C>) -> C.Value? {
        var result: C.Value?
        forEachOccurrence(of: ext.fieldNumber) { reader, wireType in
            guard wireType == C.wireType else { return false }
            result = try C.read(from: &reader, fieldNumber: ext.fieldNumber)
            return true
        }
        return result
    }

    /// All values of a repeated extension, packed or not.
    public func repeatedExtensionValues<C: FieldCodec>(_ ext: MessageExtension<Self, C>) -> [C.Value] {
        var result: [C.Value] = []
        forEachOccurrence(of: ext.fieldNumber) { reader, wireType in
            if wireType == C.wireType {
                result.append(try C.read(from: &reader, fieldNumber: ext.fieldNumber))
            } else if wireType == .lengthDelimited {
                // A packed run of a scalar extension.
                let end = try reader.readLength() + reader.position
                while reader.position < end {
                    result.append(try C.read(from: &reader, fieldNumber: ext.fieldNumber))
                }
            } else {
                return false
            }
            return true
        }
        return result
    }

    /// Whether the extension occurs in this message.
    public func hasExtension<C: FieldCodec>(_ ext: MessageExtension<Self, C>) -> Bool {
        var found = false
        forEachOccurrence(of: ext.fieldNumber) { _, _ in
            found = true
            return false
        }
        return found
    }

    /// Sets a singular extension, replacing every earlier occurrence.
    public mutating func setExtensionValue<C: FieldCodec>(_ ext: MessageExtension<Self, C>, _ value: C.Value) {
        clearExtension(ext)
        appendExtension(C.self, field: ext.fieldNumber, [value])
    }

    /// Sets a repeated extension (unpacked), replacing every earlier occurrence.
    public mutating func setRepeatedExtensionValues<C: FieldCodec>(_ ext: MessageExtension<Self, C>, _ values: [C.Value]) {
        clearExtension(ext)
        appendExtension(C.self, field: ext.fieldNumber, values)
    }

    /// Removes every occurrence of the extension.
    public mutating func clearExtension<C: FieldCodec>(_ ext: MessageExtension<Self, C>) {
        var kept = UnknownFields()
        // Unknown fields were validated when they were decoded, so re-reading cannot fail;
        // if a caller put garbage there by hand, it is kept as it was.
        let ok = (try? WireReader.withReader(over: unknownFields.bytes, options: DecodingOptions()) { reader -> Bool in
            while let (number, wireType) = try reader.nextTag() {
                if number == ext.fieldNumber {
                    try reader.skipValue(wireType: wireType, fieldNumber: number)
                } else {
                    try reader.skipField(wireType: wireType, fieldNumber: number, into: &kept)
                }
            }
            return true
        }) ?? false
        if ok { unknownFields = kept }
    }

    private mutating func appendExtension<C: FieldCodec>(_ codec: C.Type, field: Int, _ values: [C.Value]) {
        var cache = SizeCache()
        let size = cache.sizeRepeated(C.self, field: field, values)
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var writer = WireWriter(buffer: UnsafeMutableRawBufferPointer(buffer), sizes: cache)
            writer.writeRepeated(C.self, field: field, values)
            count = writer.count
        }
        bytes.withUnsafeBytes { unknownFields.append($0) }
    }

    /// Calls `body` with the reader positioned at the value of each occurrence of the field;
    /// `body` returns whether it consumed the value (otherwise it is skipped).
    private func forEachOccurrence(of fieldNumber: Int, _ body: (inout WireReader, WireType) throws -> Bool) {
        _ = try? WireReader.withReader(over: unknownFields.bytes, options: DecodingOptions()) { reader in
            while let (number, type) = try reader.nextTag() {
                let consumed = number == fieldNumber ? try body(&reader, type) : false
                if !consumed {
                    try reader.skipValue(wireType: type, fieldNumber: number)
                }
            }
        }
    }
}
