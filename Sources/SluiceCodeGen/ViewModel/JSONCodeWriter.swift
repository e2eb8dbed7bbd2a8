import SluiceDescriptors

/// Writes the JSON statements of fields: the member each field writes and the case that
/// reads it, through the runtime's `ProtoJSONEncoder` and `ProtoJSONDecoder` helpers and the
/// field's codec (the same codec the wire format uses).
struct JSONCodeWriter {
    let runtime = "SluiceProto."
    let wire = FieldCodeWriter()

    /// The well-known types whose JSON form is written by hand in SluiceProto, not generated.
    static let handWrittenJSON: Set<String> = [
        "google.protobuf.Any", "google.protobuf.Timestamp", "google.protobuf.Duration",
        "google.protobuf.FieldMask", "google.protobuf.Struct", "google.protobuf.Value",
        "google.protobuf.ListValue", "google.protobuf.DoubleValue", "google.protobuf.FloatValue",
        "google.protobuf.Int64Value", "google.protobuf.UInt64Value", "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value", "google.protobuf.BoolValue", "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    ]

    /// The field's JSON name: protoc's `json_name` (which it always fills for plugins), else
    /// the lowerCamelCase it would compute.
    static func jsonName(_ f: FieldDescriptor) -> String {
        f.hasJsonName ? f.jsonName : lowerCamel(f.name)
    }

    /// protoc's `ToJsonName`: drop each `_` and upper-case the letter after it.
    static func lowerCamel(_ name: String) -> String {
        var result = ""
        var upperNext = false
        for character in name {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                result += character.uppercased()
                upperNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// `name` as a Swift string literal.
    static func literal(_ name: String) -> String {
        var text = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            default:
                if scalar.value < 0x20 {
                    text += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }

    func tableEntry(_ f: FieldShape, oneofIndex: Int?, oneofName: String) -> String {
        var entry = ".init(number: \(f.number), jsonName: \(Self.literal(Self.jsonName(f.descriptor))), protoName: \(Self.literal(f.descriptor.name))"
        if let oneofIndex {
            entry += ", oneofIndex: \(oneofIndex), oneofName: \(Self.literal(oneofName))"
        }
        return entry + "),"
    }

    /// The statements writing one field, if set (or, for fields without presence, if the
    /// options ask for defaults).
    func encodeLines(_ f: FieldShape) -> [String] {
        let names = "\(Self.literal(Self.jsonName(f.descriptor))), \(Self.literal(f.descriptor.name))"
        let codec = runtime + f.codec + ".self"
        switch f.storage {
        case .implicit:
            return ["if \(wire.nonDefaultTest(f)) || encoder.writesDefaults {",
                    "    try encoder.writeField(\(names), \(codec), self.\(f.name))",
                    "}"]
        case .presence:
            return ["if let value = self.\(f.storageName) {",
                    "    try encoder.writeField(\(names), \(codec), value)",
                    "}"]
        case .message(let boxed):
            return ["if let value = self.\(f.storageName)\(boxed ? "?.wrapped" : "") {",
                    "    try encoder.writeField(\(names), \(codec), value)",
                    "}"]
        case .repeated:
            return ["if !self.\(f.name).isEmpty || encoder.writesDefaults {",
                    "    try encoder.writeRepeatedField(\(names), \(codec), self.\(f.name))",
                    "}"]
        case .map(let key, let value):
            return ["if !self.\(f.name).isEmpty || encoder.writesDefaults {",
                    "    try encoder.writeMapField(\(names), \(runtime)\(key).self, \(value).self, self.\(f.name))",
                    "}"]
        case .oneofMember(let oneof, let caseName):
            return ["if case .\(caseName)(let value)? = self.\(oneof) {",
                    "    try encoder.writeField(\(names), \(codec), value)",
                    "}"]
        }
    }

    /// The case reading one field's JSON value into `message`.
    func decodeCase(_ f: FieldShape) -> DecodeCaseViewModel {
        let codec = runtime + f.codec + ".self"
        let lines: [String]
        switch f.storage {
        case .implicit:
            lines = ["try decoder.readImplicit(\(codec), into: &message.\(f.name))"]
        case .presence:
            lines = ["try decoder.readOptional(\(codec), into: &message.\(f.storageName))"]
        case .message:
            lines = ["try decoder.readMessage(into: &message.\(f.storageName))"]
        case .repeated:
            lines = ["try decoder.readRepeated(\(codec), into: &message.\(f.name))"]
        case .map(let key, let valueCodec):
            lines = ["try decoder.readMap(\(runtime)\(key).self, \(valueCodec).self, into: &message.\(f.name))"]
        case .oneofMember(let oneof, let caseName):
            lines = ["if let member = try decoder.readOneofMember(\(codec)) {",
                     "    message.\(oneof) = .\(caseName)(member)",
                     "}"]
        }
        return DecodeCaseViewModel(label: "case \(f.number)", lines: lines)
    }
}
