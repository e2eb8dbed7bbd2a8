#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `google.protobuf.Any` in JSON: `{"@type": "type.googleapis.com/pkg.Msg", ...the message's
/// fields}`, or `{"@type": ..., "value": ...}` when the held type has a JSON form of its own
/// (a `Timestamp`, a `Struct`). Both directions look the type up in the options'
/// ``JSONTypeRegistry``, which knows the well-known types.
extension Google_Protobuf_Any: JSONMessage {
    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        if typeURL.isEmpty && value.isEmpty {
            encoder.beginObject()
            encoder.endObject()
            return
        }
        guard let type = encoder.options.typeRegistry.type(forTypeURL: typeURL) else {
            throw JSONEncodingError("Any holds \"\(typeURL)\", which is not in the JSON type registry")
        }
        try writeHeld(type, to: &encoder)
    }

    private func writeHeld<M: JSONMessage>(_: M.Type, to encoder: inout ProtoJSONEncoder) throws {
        let held: M
        do {
            held = try M(serializedBytes: value, options: DecodingOptions())
        } catch {
            throw JSONEncodingError("Any's value is not a valid \(M.protoMessageName): \(error)")
        }
        encoder.beginObject()
        encoder.writeMemberName("@type")
        encoder.writeString(typeURL)
        if M.isJSONObjectOfFields {
            encoder.continueNextObject()
            try held.encodeJSON(to: &encoder)
        } else {
            encoder.writeMemberName("value")
            do {
                try held.encodeJSON(to: &encoder)
            } catch let error as JSONEncodingError {
                throw error.nested(under: ".value")
            }
            encoder.endObject()
        }
    }

    public mutating func mergeJSON(_ json: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        guard case .object(let members) = json else {
            throw JSONDecodingError(.typeMismatch(expected: "an object with \"@type\" (Any)", found: json.kindDescription))
        }
        if members.isEmpty { return }
        let typeMembers = members.filter { $0.name == "@type" }
        guard typeMembers.count == 1, case .string(let url) = typeMembers[0].value else {
            throw JSONDecodingError(.invalidValue(typeMembers.count > 1
                ? "Any has \"@type\" more than once" : "Any needs one \"@type\" string naming the held message"))
        }
        guard let type = decoder.options.typeRegistry.type(forTypeURL: url) else {
            throw JSONDecodingError(.unknownType(typeURL: url), path: "$.@type")
        }
        let rest: JSONValue = .object(members.filter { $0.name != "@type" })
        try readHeld(type, from: rest, decoder: &decoder)
        typeURL = url
    }

    private mutating func readHeld<M: JSONMessage>(_: M.Type, from rest: JSONValue, decoder: inout ProtoJSONDecoder) throws {
        var held = M()
        if M.isJSONObjectOfFields {
            try held.mergeJSON(rest, decoder: &decoder)
        } else {
            guard case .object(let members) = rest, members.count == 1, members[0].name == "value" else {
                throw JSONDecodingError(.invalidValue("an Any holding \(M.protoMessageName) has exactly one member beside \"@type\": \"value\""))
            }
            do {
                try held.mergeJSON(members[0].value, decoder: &decoder)
            } catch let error as JSONDecodingError {
                throw error.nested(under: ".value")
            }
        }
        value = held.serializedData(deterministic: true)
    }
}
