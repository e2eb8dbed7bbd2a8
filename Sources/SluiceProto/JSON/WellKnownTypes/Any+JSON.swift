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

    /// Reads the object twice: first to find `"@type"` (which may come last) and where
    /// `"value"` is, skipping the other members' values unread; then, knowing the held type,
    /// from its start again as the held message, which skips `"@type"`.
    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        guard decoder.scanner.peekKind() == .object else {
            throw JSONDecodingError(.typeMismatch(expected: "an object with \"@type\" (Any)", found: try decoder.scanner.describeNextValue()))
        }
        let start = (position: decoder.scanner.position, depth: decoder.scanner.depth)
        guard try decoder.scanner.beginObject() else { return }
        var url: String?
        var valuePosition: Int?
        var otherMembers = 0
        repeat {
            let name = decoder.scanner.string(of: try decoder.scanner.memberName())
            if name == "@type" {
                guard decoder.scanner.peekKind() == .string else {
                    throw JSONDecodingError(.invalidValue("Any needs one \"@type\" string naming the held message"))
                }
                guard url == nil else { throw JSONDecodingError(.invalidValue("Any has \"@type\" more than once")) }
                url = try decoder.readString()
                continue
            }
            if name == "value" {
                decoder.scanner.skipWhitespace()
                valuePosition = decoder.scanner.position
            } else {
                otherMembers += 1
            }
            try decoder.scanner.skipValue()
        } while try decoder.scanner.nextMember()
        let end = decoder.scanner.position
        guard let url else {
            throw JSONDecodingError(.invalidValue("Any needs one \"@type\" string naming the held message"))
        }
        guard let type = decoder.options.typeRegistry.type(forTypeURL: url) else {
            throw JSONDecodingError(.unknownType(typeURL: url), path: "$.@type")
        }
        try readHeld(type, object: start, value: otherMembers == 0 ? valuePosition : nil, end: end, decoder: &decoder)
        typeURL = url
    }

    private mutating func readHeld<M: JSONMessage>(
        _: M.Type, object: (position: Int, depth: Int), value valuePosition: Int?, end: Int, decoder: inout ProtoJSONDecoder
    ) throws {
        var held = M()
        if M.isJSONObjectOfFields {
            (decoder.scanner.position, decoder.scanner.depth) = object
            decoder.skipsTypeMemberOfNextObject = true
            try held.mergeJSON(from: &decoder)
        } else {
            guard let valuePosition else {
                throw JSONDecodingError(.invalidValue("an Any holding \(M.protoMessageName) has exactly one member beside \"@type\": \"value\""))
            }
            (decoder.scanner.position, decoder.scanner.depth) = (valuePosition, object.depth + 1)
            do {
                try held.mergeJSON(from: &decoder)
            } catch let error as JSONDecodingError {
                throw error.nested(under: ".value")
            }
            (decoder.scanner.position, decoder.scanner.depth) = (end, object.depth)
        }
        value = held.serializedData(deterministic: true)
    }
}
