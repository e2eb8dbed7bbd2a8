// The view model: plain data the templates print. Every decision (names, storage, which
// runtime helper encodes a field) is made before rendering; the templates only loop.
// Property names here are the keys the templates in Templates/ use.

/// One generated `.pb.swift` file.
struct FileViewModel {
    let protoFile: String
    let imports: [String]
    /// Stored, not computed: templates read view models through `Mirror`, which sees only stored properties.
    let hasImports: Bool
    let enums: [EnumViewModel]
    let messages: [MessageViewModel]
    let extensions: [ExtensionViewModel]
    let codings: [MessageCodingViewModel]
    let services: [ServiceViewModel]
    let jsonCodings: [MessageJSONViewModel]
    let hasJSONCodings: Bool
    let hasExtensions: Bool
    let hasCodings: Bool
    /// The embedded descriptor: its holder enum, the base64 of the `FileDescriptorProto` in
    /// lines, and the holders of the files it imports, qualified by module where needed.
    let visibility: String
    let descriptorHolder: String
    let descriptorLines: [String]
    let descriptorDependencies: [String]
}

/// A Swift enum for a protobuf enum.
struct EnumViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let cases: [EnumCaseViewModel]
    let aliases: [EnumAliasViewModel]
    let isOpen: Bool
    let defaultCase: String
    /// Every value's `.proto` name (aliases included) and the case it reads as, for JSON.
    let jsonNames: [EnumJSONNameViewModel]
}

struct EnumCaseViewModel {
    let docLines: [String]
    let name: String
    let number: Int
    /// The value's name in the `.proto` file, which JSON writes.
    let protoName: String
}

struct EnumJSONNameViewModel {
    let protoName: String
    let caseName: String
}

struct EnumAliasViewModel {
    let name: String
    let target: String
}

/// A Swift struct for a protobuf message, with its nested types.
struct MessageViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let fields: [FieldViewModel]
    let oneofs: [OneofViewModel]
    let storage: [StorageViewModel]
    let enums: [EnumViewModel]
    let messages: [MessageViewModel]
}

/// A field's public property. Exactly one of the `is...` flags is true.
struct FieldViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let type: String
    /// A stored property with a default (proto3 scalars, repeated, maps).
    let isPlain: Bool
    /// A computed property over optional storage, with `has` and `clear` members.
    let hasPresence: Bool
    /// A computed property over the oneof's enum.
    let isOneofMember: Bool
    let defaultValue: String
    let storageName: String
    let getter: String
    let setter: String
    let hasName: String
    let clearName: String
    let oneofName: String
    let caseName: String
}

/// Private storage behind a field with presence.
struct StorageViewModel {
    let name: String
    let type: String
}

/// A oneof: an optional enum property plus the enum itself.
struct OneofViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let enumName: String
    let cases: [OneofCaseViewModel]
}

struct OneofCaseViewModel {
    let name: String
    let type: String
    let isIndirect: Bool
}

/// The `Message` conformance of one message: the three wire-format methods.
struct MessageCodingViewModel {
    let visibility: String
    let swiftName: String
    let protoName: String
    let decodeCases: [DecodeCaseViewModel]
    let sizeLines: [String]
    let hasFields: Bool
    let encodeLines: [String]
    let requiredCheckLines: [String]
    let hasRequiredCheck: Bool
}

/// The `JSONMessage` conformance of one message: its field-name table and the two JSON methods.
struct MessageJSONViewModel {
    let visibility: String
    let swiftName: String
    let protoName: String
    /// `.init(number: 1, jsonName: "fooBar", protoName: "foo_bar")` lines.
    let tableEntries: [String]
    let isExtensible: Bool
    let encodeLines: [String]
    let decodeCases: [DecodeCaseViewModel]
}

struct DecodeCaseViewModel {
    let label: String
    let lines: [String]
}

/// A proto2 extension field: its descriptor constant and typed accessors on the extended type.
struct ExtensionViewModel {
    let docLines: [String]
    let visibility: String
    let extendedType: String
    let constantName: String
    let codec: String
    let fieldNumber: Int
    let protoName: String
    let accessorName: String
    let hasName: String
    let clearName: String
    let type: String
    let isRepeated: Bool
    let defaultValue: String
}

/// A service: its namespace enum, method descriptors, client and server protocols.
struct ServiceViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let protoName: String
    let methods: [MethodViewModel]
    /// The enum holding the descriptor of the file that defines the service.
    let descriptorHolder: String
    /// `Client=false` leaves out `ClientProtocol` and `Client`.
    let generateClient: Bool
    /// `Server=false` leaves out `ServiceProtocol` and its registration.
    let generateServer: Bool
    /// The methods' `google.api.http` bindings, primary and additional, in declaration order.
    let httpBindings: [HTTPBindingViewModel]
    /// Stored, not computed: templates see stored properties only.
    let hasHTTPBindings: Bool
}

/// One `google.api.http` binding of a method: Swift literals for `Sluice.HTTPBinding`.
struct HTTPBindingViewModel {
    let methodTypeName: String
    let httpMethod: String
    let path: String
    let body: String
    let responseBody: String
    /// `["a", "b.c"]` as a Swift set literal.
    let boolFields: String
    let repeatedFields: String
}

/// One RPC. Exactly one of the four kind flags is true.
struct MethodViewModel {
    let docLines: [String]
    let visibility: String
    let name: String
    let typeName: String
    let funcName: String
    let protoName: String
    let serviceProtoName: String
    let kind: String
    let input: String
    let output: String
    let isUnary: Bool
    let isServerStreaming: Bool
    let isClientStreaming: Bool
    let isBidirectional: Bool
    let hasSingleRequest: Bool
    /// What the call returns: a `UnaryResponse` or, for streamed responses, a `StreamingResponse`.
    let responseType: String
    /// What a writer-driven call of a streaming-request method returns.
    let writerResult: String
}
