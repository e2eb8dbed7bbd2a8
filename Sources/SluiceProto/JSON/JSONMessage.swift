/// A message that reads and writes the proto3 JSON mapping (protobuf's "ProtoJSON").
///
/// protoc-gen-swift-grpc conforms every generated message: ordinary messages are JSON
/// objects of their fields, named by a generated ``JSONFieldTable``; the well-known types
/// with a JSON form of their own (`Timestamp`, `Duration`, `Any`, `Struct`, the wrappers...)
/// are written by hand in SluiceProto. No descriptor is parsed at run time.
public protocol JSONMessage: Message {
    /// Writes this message as one JSON value.
    func encodeJSON(to encoder: inout ProtoJSONEncoder) throws
    /// Merges the next JSON value the decoder reads into this message: set fields replace,
    /// repeated fields append, maps and embedded messages merge, as decoding binary does.
    mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws
    /// Whether JSON `null` is a value of this type (only `google.protobuf.Value`), rather
    /// than "not set".
    static var acceptsJSONNull: Bool { get }
    /// Whether the JSON form is an object of the message's fields; false for well-known
    /// types with a form of their own, which an `Any` holds under `"value"`.
    static var isJSONObjectOfFields: Bool { get }
}

extension JSONMessage {
    public static var acceptsJSONNull: Bool { false }
    public static var isJSONObjectOfFields: Bool { true }

    /// The message as JSON text.
    public func jsonString(options: JSONEncodingOptions = JSONEncodingOptions()) throws -> String {
        String(decoding: try jsonUTF8Bytes(options: options), as: UTF8.self)
    }

    /// The message as UTF-8 JSON.
    public func jsonUTF8Bytes(options: JSONEncodingOptions = JSONEncodingOptions()) throws -> [UInt8] {
        var encoder = ProtoJSONEncoder(options: options)
        try encodeJSON(to: &encoder)
        return encoder.finish()
    }

    /// Decodes a message from JSON text.
    public init(jsonString: String, options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        self.init()
        try merge(jsonUTF8Bytes: Array(jsonString.utf8), options: options)
    }

    /// Decodes a message from UTF-8 JSON.
    public init(jsonUTF8Bytes bytes: [UInt8], options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        self.init()
        try merge(jsonUTF8Bytes: bytes, options: options)
    }

    /// Merges UTF-8 JSON into this message.
    ///
    /// - Throws: ``JSONDecodingError``, with the JSONPath of what was wrong.
    public mutating func merge(jsonUTF8Bytes bytes: [UInt8], options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        guard bytes.count <= options.maxBytes else {
            throw JSONDecodingError(.documentTooLarge(bytes: bytes.count, limit: options.maxBytes))
        }
        var decoder = ProtoJSONDecoder(options: options, bytes: bytes)
        do {
            try mergeJSON(from: &decoder)
            try decoder.finish()
        } catch let error as JSONParsingError {
            throw JSONDecodingError(.malformedJSON(reason: error.reason, offset: error.offset))
        }
        do {
            try checkRequiredFields()
        } catch {
            throw JSONDecodingError(.invalidMessage("\(error)"))
        }
    }

    /// Merges a parsed JSON document into this message.
    public mutating func merge(json document: JSONValue, options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        var encoder = ProtoJSONEncoder(options: JSONEncodingOptions())
        encoder.writeValue(document)
        try merge(jsonUTF8Bytes: encoder.finish(), options: options)
    }
}

/// A generated enum that knows its values' names, for JSON.
public protocol JSONEnum: ProtoEnum {
    /// The value named `name` in the `.proto` file (aliases included), or nil.
    init?(protoName name: String)
    /// The name of this value in the `.proto` file (the first, for aliased numbers), or nil
    /// for a number the schema does not define.
    var protoName: String? { get }
    /// Whether this is `google.protobuf.NullValue`, whose JSON form is `null`.
    static var isNullValue: Bool { get }
}

extension JSONEnum {
    public static var isNullValue: Bool { false }
}

/// The JSON names of a message's fields, generated beside the message: for each field its
/// number, its JSON name (`json_name`, or protoc's lowerCamelCase) and its `.proto` name.
/// Decoding accepts either name, as the spec requires.
public struct JSONFieldTable: Sendable {
    /// One field.
    public struct Field: Sendable {
        /// The field number.
        public let number: Int
        /// The name JSON writes by default.
        public let jsonName: String
        /// The name in the `.proto` file.
        public let protoName: String
        /// The index of the field's oneof in the message (real oneofs only), or -1.
        public let oneofIndex: Int
        /// The oneof's name, for errors.
        public let oneofName: String

        /// Describes one field.
        public init(number: Int, jsonName: String, protoName: String, oneofIndex: Int = -1, oneofName: String = "") {
            self.number = number
            self.jsonName = jsonName
            self.protoName = protoName
            self.oneofIndex = oneofIndex
            self.oneofName = oneofName
        }
    }

    private let fields: [Field]
    private let numbersAndOneofs: [(number: Int, oneofIndex: Int)]
    /// Every field's JSON name and then its `.proto` name, as UTF-8, end to end: what member
    /// names are compared with, byte by byte, so that decoding makes no `String` per member.
    private let nameBytes: [UInt8]
    /// For field `i`: where its JSON name and its `.proto` name lie in `nameBytes`.
    private let nameRanges: [(json: Range<Int>, proto: Range<Int>)]
    /// An open-addressed hash table of names: each slot holds a field index + 1 (0 is empty),
    /// probed linearly from the name's hash; two slots per name at least, so probes are short.
    private let slots: [Int32]
    /// Whether the message declares extension ranges, so that `"[pkg.ext]"` members may name
    /// extensions.
    public let isExtensible: Bool

    /// The table of `fields`.
    public init(_ fields: [Field], isExtensible: Bool = false) {
        self.fields = fields
        self.isExtensible = isExtensible
        var bytes: [UInt8] = []
        var ranges: [(json: Range<Int>, proto: Range<Int>)] = []
        for (i, field) in fields.enumerated() {
            let jsonStart = bytes.count
            bytes += field.jsonName.utf8
            let protoStart = bytes.count
            bytes += field.protoName.utf8
            ranges.append((jsonStart..<protoStart, protoStart..<bytes.count))
        }
        self.numbersAndOneofs = fields.map { ($0.number, $0.oneofIndex) }
        self.nameBytes = bytes
        self.nameRanges = ranges
        var capacity = 4
        while capacity < fields.count * 4 { capacity *= 2 }
        var slots = [Int32](repeating: 0, count: capacity)
        for (i, names) in ranges.enumerated() {
            for range in [names.json, names.proto] {
                var slot = Self.hash(bytes, range) & (capacity - 1)
                while slots[slot] != 0 {
                    // A field whose two names are the same is entered once.
                    if slots[slot] == Int32(i + 1) { break }
                    slot = (slot + 1) & (capacity - 1)
                }
                slots[slot] = Int32(i + 1)
            }
        }
        self.slots = slots
    }

    /// The field a JSON member name names, by either of its names.
    public func field(named name: String) -> Field? {
        index(named: name).map { fields[$0] }
    }

    /// The index of the field a member name names, by either of its names: the byte lookup
    /// decoding uses, for names that come as `String`s (those with escapes).
    @usableFromInline
    func index(named name: String) -> Int? {
        let bytes = Array(name.utf8)
        return index(of: bytes, 0..<bytes.count, hint: fields.count)
    }

    /// The index of the field named by the UTF-8 `bytes[range]`, by either of its names;
    /// the field at `hint` is tried first.
    @usableFromInline
    func index(of bytes: [UInt8], _ range: Range<Int>, hint: Int) -> Int? {
        if hint < fields.count, matches(bytes, range, nameRanges[hint].json) || matches(bytes, range, nameRanges[hint].proto) {
            return hint
        }
        let mask = slots.count - 1
        var slot = Self.hash(bytes, range) & mask
        while slots[slot] != 0 {
            let candidate = Int(slots[slot] - 1)
            if matches(bytes, range, nameRanges[candidate].json) || matches(bytes, range, nameRanges[candidate].proto) {
                return candidate
            }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The field at `index`.
    @usableFromInline
    subscript(index: Int) -> Field { fields[index] }

    /// The number and oneof index of the field at `index`: what decoding needs of it per
    /// member, without copying the field's names.
    @usableFromInline
    func numberAndOneof(at index: Int) -> (number: Int, oneofIndex: Int) { numbersAndOneofs[index] }

    private func matches(_ bytes: [UInt8], _ range: Range<Int>, _ name: Range<Int>) -> Bool {
        guard range.count == name.count else { return false }
        var i = range.lowerBound
        var j = name.lowerBound
        while i < range.upperBound {
            guard bytes[i] == nameBytes[j] else { return false }
            i += 1
            j += 1
        }
        return true
    }

    /// FNV-1a over the name's bytes.
    private static func hash(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in range {
            hash = (hash ^ UInt64(bytes[i])) &* 0x100_0000_01B3
        }
        return Int(truncatingIfNeeded: hash)
    }
}
