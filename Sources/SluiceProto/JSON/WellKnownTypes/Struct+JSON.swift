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

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try mergeJSON(decoder.readJSONValue(), decoder: &decoder)
    }

    /// Merges `json`, already read whole.
    mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        guard case .object(let members) = json else {
            throw JSONDecodingError(.typeMismatch(expected: "an object (Struct)", found: json.kindDescription))
        }
        for member in members {
            do {
                var value = Google_Protobuf_Value()
                try value.mergeJSON(member.value, decoder: &decoder)
                fields[member.name] = value
            } catch let error as JSONDecodingError {
                throw error.nested(under: jsonPathKey(member.name))
            }
        }
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

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try mergeJSON(decoder.readJSONValue(), decoder: &decoder)
    }

    /// Merges `json`, already read whole.
    mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        switch json {
        case .null:
            kind = .nullValue(.nullValue)
        case .bool(let flag):
            kind = .boolValue(flag)
        case .number:
            kind = .numberValue(try JSONNumbers.double(json, typeName: "Value"))
        case .string(let string):
            kind = .stringValue(string)
        case .array:
            var list = Google_Protobuf_ListValue()
            try list.mergeJSON(json, decoder: &decoder)
            kind = .listValue(list)
        case .object:
            var object = Google_Protobuf_Struct()
            try object.mergeJSON(json, decoder: &decoder)
            kind = .structValue(object)
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

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        try mergeJSON(decoder.readJSONValue(), decoder: &decoder)
    }

    /// Merges `json`, already read whole.
    mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        guard case .array(let elements) = json else {
            throw JSONDecodingError(.typeMismatch(expected: "an array (ListValue)", found: json.kindDescription))
        }
        for (index, element) in elements.enumerated() {
            do {
                var value = Google_Protobuf_Value()
                try value.mergeJSON(element, decoder: &decoder)
                values.append(value)
            } catch let error as JSONDecodingError {
                throw error.nested(under: "[\(index)]")
            }
        }
    }
}

extension Google_Protobuf_NullValue {
    /// `NullValue` is written as JSON `null`, and read from it.
    public static var isNullValue: Bool { true }
}
