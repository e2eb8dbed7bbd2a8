/// How messages are written as JSON. The defaults are the proto3 JSON mapping's: lowerCamelCase
/// names, enums by name, fields at their defaults left out, compact output.
///
/// The option names follow protobuf's own implementations (Python `json_format`, C++
/// `JsonPrintOptions`, Java `JsonFormat.Printer`).
public struct JSONEncodingOptions: Sendable {
    /// Write proto3 fields without presence (scalars, repeated fields, maps) even when they
    /// hold their default. Fields with presence (messages, `optional`, oneof members) are
    /// written only when set, as protobuf's `always_print_fields_with_no_presence` does.
    public var alwaysPrintFieldsWithoutPresence = false
    /// Name fields as the `.proto` file does (`created_at`) instead of their JSON name
    /// (`createdAt`).
    public var preservingProtoFieldNames = false
    /// Write enum values as numbers instead of names.
    public var enumsAsIntegers = false
    /// Spaces of indentation per level for human-readable output; nil writes compact JSON.
    public var indentation: Int? = nil
    /// The messages an `Any` may hold, beside the well-known types.
    public var typeRegistry = JSONTypeRegistry()
    /// The proto2 extensions written as `"[pkg.ext]"` members; others are left out, as
    /// unknown fields are.
    public var extensions = JSONExtensionRegistry()

    /// The defaults: compact proto3 JSON.
    public init() {}

    /// Human-readable output indented by two spaces per level.
    public static var pretty: JSONEncodingOptions {
        var options = JSONEncodingOptions()
        options.indentation = 2
        return options
    }
}

/// How JSON is read into messages.
public struct JSONDecodingOptions: Sendable {
    /// Skip object members that name no field, and enum values the schema does not know,
    /// instead of failing (protobuf's `ignore_unknown_fields`).
    public var ignoreUnknownFields = false
    /// The deepest nesting of arrays and objects accepted, as the binary decoder's recursion
    /// limit.
    public var maxDepth = 100
    /// The longest document accepted, in bytes.
    public var maxBytes = 64 << 20
    /// The messages an `Any` may hold, beside the well-known types.
    public var typeRegistry = JSONTypeRegistry()
    /// The proto2 extensions `"[pkg.ext]"` members may name.
    public var extensions = JSONExtensionRegistry()

    /// The defaults: unknown names are errors, 100 levels, 64 MiB.
    public init() {}
}

/// The message types that `Any` values in JSON may hold, found by their full protobuf name.
///
/// JSON writes an `Any` as the fields of the message it holds, so both directions must know
/// that message's type; the binary format never does. The well-known types are always
/// known; an application adds its own: `JSONTypeRegistry([Shop_Order.self, Shop_Item.self])`.
public struct JSONTypeRegistry: Sendable {
    private var types: [String: any JSONMessage.Type] = [:]

    /// A registry of the well-known types and `types`.
    public init(_ types: [any JSONMessage.Type] = []) {
        for type in types { register(type) }
    }

    /// Adds `type`, replacing a type of the same name.
    public mutating func register(_ type: any JSONMessage.Type) {
        types[type.protoMessageName] = type
    }

    /// The type named `name` (`shop.Order`), if registered or well known.
    public func type(named name: String) -> (any JSONMessage.Type)? {
        types[name] ?? Self.wellKnownTypes[name]
    }

    /// The type an `Any`'s URL names: what follows its last `/`, as every runtime resolves it.
    public func type(forTypeURL url: String) -> (any JSONMessage.Type)? {
        guard let slash = url.lastIndex(of: "/") else { return nil }
        let name = url[url.index(after: slash)...]
        return name.isEmpty ? nil : type(named: String(name))
    }

    private static let wellKnownTypes: [String: any JSONMessage.Type] = {
        let all: [any JSONMessage.Type] = [
            Google_Protobuf_Any.self, Google_Protobuf_Duration.self, Google_Protobuf_Empty.self,
            Google_Protobuf_FieldMask.self, Google_Protobuf_Struct.self, Google_Protobuf_Value.self,
            Google_Protobuf_ListValue.self, Google_Protobuf_Timestamp.self,
            Google_Protobuf_DoubleValue.self, Google_Protobuf_FloatValue.self,
            Google_Protobuf_Int64Value.self, Google_Protobuf_UInt64Value.self,
            Google_Protobuf_Int32Value.self, Google_Protobuf_UInt32Value.self,
            Google_Protobuf_BoolValue.self, Google_Protobuf_StringValue.self,
            Google_Protobuf_BytesValue.self,
            Google_Protobuf_Api.self, Google_Protobuf_Method.self, Google_Protobuf_Mixin.self,
            Google_Protobuf_SourceContext.self, Google_Protobuf_Type.self, Google_Protobuf_Field.self,
            Google_Protobuf_Enum.self, Google_Protobuf_EnumValue.self, Google_Protobuf_Option.self,
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.protoMessageName, $0) })
    }()
}
