import SluiceDescriptors

typealias FieldDescriptor = Google_Protobuf_FieldDescriptorProto

/// How one field is stored and which runtime helpers read, measure and write it.
struct FieldShape {
    enum Storage {
        /// proto3 scalar without presence: plain stored property, written when not default.
        case implicit
        /// Optional storage with has/clear (proto2 optional and required, proto3 `optional`).
        case presence
        /// Singular message or group, optionally boxed because the type graph is cyclic.
        case message(boxed: Bool)
        case repeated(packed: Bool)
        case map(key: String, value: String)
        case oneofMember(oneof: String, caseName: String)
    }

    let descriptor: FieldDescriptor
    let name: String
    let number: Int
    let swiftType: String
    let codec: String
    let storage: Storage
    let isGroup: Bool
    let isMessage: Bool
    let closedEnum: String?
    let defaultValue: String
    let wireType: String

    var storageName: String { "_" + name.filter { $0 != "`" } }
}

enum ScalarInfo {
    /// Swift type, codec and wire type of a scalar field type.
    static func of(_ type: FieldDescriptor.TypeEnum) -> (swift: String, codec: String, wire: String, zero: String)? {
        switch type {
        case .double: return ("Double", "ProtoDouble", ".fixed64", "0")
        case .float: return ("Float", "ProtoFloat", ".fixed32", "0")
        case .int64: return ("Int64", "ProtoInt64", ".varint", "0")
        case .uint64: return ("UInt64", "ProtoUInt64", ".varint", "0")
        case .int32: return ("Int32", "ProtoInt32", ".varint", "0")
        case .fixed64: return ("UInt64", "ProtoFixed64", ".fixed64", "0")
        case .fixed32: return ("UInt32", "ProtoFixed32", ".fixed32", "0")
        case .bool: return ("Bool", "ProtoBool", ".varint", "false")
        case .string: return ("String", "ProtoString", ".lengthDelimited", "String()")
        case .bytes: return ("Data", "ProtoBytes", ".lengthDelimited", "Data()")
        case .uint32: return ("UInt32", "ProtoUInt32", ".varint", "0")
        case .sfixed32: return ("Int32", "ProtoSFixed32", ".fixed32", "0")
        case .sfixed64: return ("Int64", "ProtoSFixed64", ".fixed64", "0")
        case .sint32: return ("Int32", "ProtoSInt32", ".varint", "0")
        case .sint64: return ("Int64", "ProtoSInt64", ".varint", "0")
        case .group, .message, .enum: return nil
        }
    }

    static func isPackable(_ type: FieldDescriptor.TypeEnum) -> Bool {
        switch type {
        case .string, .bytes, .group, .message: return false
        default: return true
        }
    }
}

/// Writes the decode, size and encode statements for fields.
struct FieldCodeWriter {
    let runtime = "SluiceProto."

    func decodeCase(_ f: FieldShape) -> DecodeCaseViewModel {
        let n = f.number
        let codec = runtime + f.codec
        var label = "case \(n) where wireType == \(f.wireType)"
        let lines: [String]
        switch f.storage {
        case .implicit:
            lines = ["self.\(f.name) = try reader.read(\(codec).self, fieldNumber: \(n))"]
        case .presence:
            if let e = f.closedEnum {
                lines = ["if let value = try reader.readClosedEnum(\(e).self, fieldNumber: \(n), unknownFields: &self.unknownFields) {",
                         "    self.\(f.storageName) = value",
                         "}"]
            } else {
                lines = ["self.\(f.storageName) = try reader.read(\(codec).self, fieldNumber: \(n))"]
            }
        case .message:
            lines = [f.isGroup
                ? "try reader.readGroup(into: &self.\(f.storageName), fieldNumber: \(n))"
                : "try reader.readMessage(into: &self.\(f.storageName))"]
        case .repeated:
            if f.isMessage {
                lines = [f.isGroup
                    ? "try reader.readRepeatedGroup(into: &self.\(f.name), fieldNumber: \(n))"
                    : "try reader.readRepeatedMessage(into: &self.\(f.name))"]
            } else if ScalarInfo.isPackable(f.descriptor.type) {
                label = "case \(n) where wireType == \(f.wireType) || wireType == .lengthDelimited"
                if let e = f.closedEnum {
                    lines = ["try reader.readRepeatedClosedEnum(\(e).self, into: &self.\(f.name), wireType: wireType, fieldNumber: \(n), unknownFields: &self.unknownFields)"]
                } else {
                    lines = ["try reader.readRepeated(\(codec).self, into: &self.\(f.name), wireType: wireType, fieldNumber: \(n))"]
                }
            } else {
                lines = ["try reader.readRepeated(\(codec).self, into: &self.\(f.name), fieldNumber: \(n))"]
            }
        case .map(let key, let value):
            lines = ["try reader.readMapEntry(\(runtime)\(key).self, \(value).self, into: &self.\(f.name), unknownFields: &self.unknownFields)"]
        case .oneofMember(let oneof, let caseName):
            if f.isMessage {
                let merge = f.isGroup
                    ? "try reader.mergeGroup(into: &value, fieldNumber: \(n))"
                    : "try reader.mergeMessage(into: &value)"
                lines = ["var value = \(f.swiftType)()",
                         "if case .\(caseName)(let existing)? = self.\(oneof) {",
                         "    value = existing",
                         "    self.\(oneof) = nil",
                         "}",
                         merge,
                         "self.\(oneof) = .\(caseName)(value)"]
            } else if let e = f.closedEnum {
                lines = ["if let value = try reader.readClosedEnum(\(e).self, fieldNumber: \(n), unknownFields: &self.unknownFields) {",
                         "    self.\(oneof) = .\(caseName)(value)",
                         "}"]
            } else {
                lines = ["self.\(oneof) = .\(caseName)(try reader.read(\(codec).self, fieldNumber: \(n)))"]
            }
        }
        return DecodeCaseViewModel(label: label, lines: lines)
    }

    /// The test for "differs from the default" of a proto3 implicit-presence field. Floats
    /// compare bit patterns so that -0.0 is written, as the C++ and upb runtimes do.
    func nonDefaultTest(_ f: FieldShape) -> String {
        let value = "self.\(f.name)"
        switch f.descriptor.type {
        case .bool: return value
        case .string, .bytes: return "!\(value).isEmpty"
        case .float, .double: return "\(value).bitPattern != 0"
        case .enum: return "\(value).rawValue != 0"
        default: return "\(value) != 0"
        }
    }

    /// Statements that either add to `size` (`measure == true`) or write to `writer`.
    func statements(_ f: FieldShape, measure: Bool) -> [String] {
        let n = f.number
        let codec = runtime + f.codec
        func call(_ sizeCall: String, _ writeCall: String) -> String {
            measure ? "size += cache.\(sizeCall)" : "writer.\(writeCall)"
        }
        switch f.storage {
        case .implicit:
            return ["if \(nonDefaultTest(f)) {",
                    "    " + call("size(\(codec).self, field: \(n), self.\(f.name))", "write(\(codec).self, field: \(n), self.\(f.name))"),
                    "}"]
        case .presence:
            return ["if let value = self.\(f.storageName) {",
                    "    " + call("size(\(codec).self, field: \(n), value)", "write(\(codec).self, field: \(n), value)"),
                    "}"]
        case .message(let boxed):
            let unwrap = boxed ? "self.\(f.storageName)?.wrapped" : "self.\(f.storageName)"
            let what = f.isGroup ? "Group" : "Message"
            return ["if let value = \(unwrap) {",
                    "    " + call("size\(what)(field: \(n), value)", "write\(what)(field: \(n), value)"),
                    "}"]
        case .repeated(let packed):
            if f.isMessage {
                let what = f.isGroup ? "Group" : "Message"
                return [call("sizeRepeated\(what)(field: \(n), self.\(f.name))", "writeRepeated\(what)(field: \(n), self.\(f.name))")]
            }
            let how = packed ? "Packed" : "Repeated"
            return [call("size\(how)(\(codec).self, field: \(n), self.\(f.name))", "write\(how)(\(codec).self, field: \(n), self.\(f.name))")]
        case .map(let key, let value):
            let args = "\(runtime)\(key).self, \(value).self, field: \(n), self.\(f.name)"
            return [call("sizeMap(\(args))", "writeMap(\(args))")]
        case .oneofMember(let oneof, let caseName):
            let inner: String
            if f.isMessage {
                let what = f.isGroup ? "Group" : "Message"
                inner = call("size\(what)(field: \(n), value)", "write\(what)(field: \(n), value)")
            } else {
                inner = call("size(\(codec).self, field: \(n), value)", "write(\(codec).self, field: \(n), value)")
            }
            return ["if case .\(caseName)(let value)? = self.\(oneof) {", "    " + inner, "}"]
        }
    }

    /// Statements checking required fields here and in held messages that need it.
    func requiredCheck(_ f: FieldShape, messageName: String, holdsRequired: Bool) -> [String] {
        var lines: [String] = []
        if f.descriptor.label == .required {
            lines += ["if self.\(f.storageName) == nil {",
                      "    throw \(runtime)ProtobufDecodingError.missingRequiredField(message: \"\(messageName)\", field: \"\(f.descriptor.name)\")",
                      "}"]
        }
        guard holdsRequired else { return lines }
        switch f.storage {
        case .message(let boxed):
            lines.append("try self.\(f.storageName)\(boxed ? "?.wrapped" : "")\(boxed ? "" : "?").checkRequiredFields()")
        case .repeated:
            lines.append("for value in self.\(f.name) { try value.checkRequiredFields() }")
        case .map:
            lines.append("for value in self.\(f.name).values { try value.checkRequiredFields() }")
        case .oneofMember(let oneof, let caseName):
            lines.append("if case .\(caseName)(let value)? = self.\(oneof) { try value.checkRequiredFields() }")
        case .implicit, .presence:
            break
        }
        return lines
    }
}
