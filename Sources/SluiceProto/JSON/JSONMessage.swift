/// A message that reads and writes the proto3 JSON mapping (protobuf's "ProtoJSON").
///
/// protoc-gen-swift-grpc conforms every generated message: ordinary messages are JSON
/// objects of their fields, named by a generated ``JSONFieldTable``; the well-known types
/// with a JSON form of their own (`Timestamp`, `Duration`, `Any`, `Struct`, the wrappers...)
/// are written by hand in SluiceProto. No descriptor is parsed at run time.
public protocol JSONMessage: Message {
    /// Writes this message as one JSON value.
    func encodeJSON(to encoder: inout ProtoJSONEncoder) throws
    /// Merges one JSON value into this message: set fields replace, repeated fields append,
    /// maps and embedded messages merge, as decoding binary does.
    mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws
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
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes, maxDepth: options.maxDepth)
        } catch let error as JSONParsingError {
            throw JSONDecodingError(.malformedJSON(reason: error.reason, offset: error.offset))
        }
        try merge(json: document, options: options)
    }

    /// Merges a parsed JSON document into this message.
    public mutating func merge(json document: JSONValue, options: JSONDecodingOptions = JSONDecodingOptions()) throws {
        var decoder = ProtoJSONDecoder(options: options)
        try mergeJSON(document, decoder: &decoder)
        do {
            try checkRequiredFields()
        } catch {
            throw JSONDecodingError(.invalidMessage("\(error)"))
        }
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
    private let indexByName: [String: Int]
    /// Whether the message declares extension ranges, so that `"[pkg.ext]"` members may name
    /// extensions.
    public let isExtensible: Bool

    /// The table of `fields`.
    public init(_ fields: [Field], isExtensible: Bool = false) {
        self.fields = fields
        self.isExtensible = isExtensible
        var index: [String: Int] = [:]
        for (i, field) in fields.enumerated() {
            index[field.jsonName] = i
            index[field.protoName] = i
        }
        self.indexByName = index
    }

    /// The field a JSON member name names, by either of its names.
    public func field(named name: String) -> Field? {
        indexByName[name].map { fields[$0] }
    }
}
