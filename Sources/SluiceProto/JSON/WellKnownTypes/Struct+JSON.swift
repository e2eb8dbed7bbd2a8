/// `google.protobuf.Struct`, `Value` and `ListValue` in JSON: any JSON object, value and array,
/// as they are.
extension Google_Protobuf_Struct: JSONMessage {
    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        encoder.beginObject()
        for (key, value) in fields.sorted(by: { ProtoString.less($0.key, $1.key) }) {
            encoder.writeMemberName(key)
            do {
                try value.encodeJSON(to: &encoder)
            } catch let error as JSONEncodingError {
                throw error.nested(under: jsonPathKey(key))
            }
        }
        encoder.endObject()
    }

    /// Reads any object, member by member; a key given twice keeps its last value, as JSON
    /// parsers that build dictionaries do.
    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        guard decoder.scanner.peekKind() == .object else {
            throw JSONDecodingError(.typeMismatch(expected: "an object (Struct)", found: try decoder.scanner.describeNextValue()))
        }
        guard try decoder.scanner.beginObject() else { return }
        repeat {
            let name = decoder.scanner.string(of: try decoder.scanner.memberName())
            do {
                var value = Google_Protobuf_Value()
                try value.mergeJSON(from: &decoder)
                fields[name] = value
            } catch let error as JSONDecodingError {
                throw error.nested(under: jsonPathKey(name))
            }
        } while try decoder.scanner.nextMember()
    }
}

extension Google_Protobuf_Value: JSONMessage {
    public static var isJSONObjectOfFields: Bool { false }
    public static var acceptsJSONNull: Bool { true }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        switch kind {
        case nil, .nullValue?:
            // A Value with no kind is invalid by its documentation; Python's json_format
            // writes it as null, and so does Sluice, rather than failing a whole response.
            encoder.writeNull()
        case .numberValue(let number)?:
            guard number.isFinite else {
                throw JSONEncodingError("a Value's number \(number) has no JSON form (JSON numbers are finite)")
            }
            JSONNumbers.write(number, to: &encoder)
        case .stringValue(let string)?:
            encoder.writeString(string)
        case .boolValue(let flag)?:
            encoder.writeBool(flag)
        case .structValue(let object)?:
            try object.encodeJSON(to: &encoder)
        case .listValue(let list)?:
            try list.encodeJSON(to: &encoder)
        }
    }

    /// Reads any value, as the kind it is.
    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        switch decoder.scanner.peekKind() {
        case .null:
            _ = try decoder.scanner.consumeNull()
            kind = .nullValue(.nullValue)
        case .bool:
            kind = .boolValue(try decoder.readBool())
        case .number:
            kind = .numberValue(try decoder.readDouble(typeName: "Value"))
        case .string:
            kind = .stringValue(try decoder.readString())
        case .array:
            var list = Google_Protobuf_ListValue()
            try list.mergeJSON(from: &decoder)
            kind = .listValue(list)
        case .object:
            var object = Google_Protobuf_Struct()
            try object.mergeJSON(from: &decoder)
            kind = .structValue(object)
        case .invalid:
            throw decoder.scanner.error("expected a value, found \(decoder.scanner.describeNext())")
        }
    }
}

extension Google_Protobuf_ListValue: JSONMessage {
    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        encoder.beginArray()
        for (index, value) in values.enumerated() {
            encoder.beginElement()
            do {
                try value.encodeJSON(to: &encoder)
            } catch let error as JSONEncodingError {
                throw error.nested(under: "[\(index)]")
            }
        }
        encoder.endArray()
    }

    /// Reads any array, element by element.
    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        guard decoder.scanner.peekKind() == .array else {
            throw JSONDecodingError(.typeMismatch(expected: "an array (ListValue)", found: try decoder.scanner.describeNextValue()))
        }
        guard try decoder.scanner.beginArray() else { return }
        var index = 0
        repeat {
            do {
                var value = Google_Protobuf_Value()
                try value.mergeJSON(from: &decoder)
                values.append(value)
            } catch let error as JSONDecodingError {
                throw error.nested(under: "[\(index)]")
            }
            index += 1
        } while try decoder.scanner.nextElement()
    }
}

extension Google_Protobuf_NullValue {
    /// `NullValue` is written as JSON `null`, and read from it.
    public static var isNullValue: Bool { true }
}
