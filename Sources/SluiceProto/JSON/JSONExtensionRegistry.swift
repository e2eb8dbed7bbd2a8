/// The proto2 extensions that JSON may name, as `"[pkg.ext]"` members of the messages they
/// extend.
///
/// Binary decoding keeps extensions in a message's unknown fields without knowing them; JSON
/// names them, so both directions need them registered:
/// `registry.register(Pkg_Extensions_priority)`.
public struct JSONExtensionRegistry: Sendable {
    struct Entry: Sendable {
        let protoName: String
        let fieldNumber: Int
        /// The wire bytes (tag included) of the extension's value read from JSON.
        let decodeJSON: @Sendable (inout ProtoJSONDecoder) throws -> [UInt8]
        /// Writes the member if the message holds the extension.
        let encodeJSON: @Sendable (any JSONMessage, inout ProtoJSONEncoder) throws -> Void
    }

    /// Entries by extended message name.
    private var entries: [String: [Entry]] = [:]

    /// No extensions.
    public init() {}

    /// Registers a singular extension.
    public mutating func register<M: JSONMessage, C: JSONFieldCodec>(_ ext: MessageExtension<M, C>) {
        add(Entry(
            protoName: ext.protoName, fieldNumber: ext.fieldNumber,
            decodeJSON: { decoder in
                var holder = M()
                var value: C.Value?
                try decoder.readOptional(C.self, into: &value)
                if let value { holder.setExtensionValue(ext, value) }
                return Array(holder.unknownFields.bytes)
            },
            encodeJSON: { message, encoder in
                guard let message = message as? M, let value = message.extensionValue(ext) else { return }
                try encoder.writeField(ext.protoName, ext.protoName, C.self, value, memberName: "[\(ext.protoName)]")
            }), to: M.protoMessageName)
    }

    /// Registers a repeated extension.
    public mutating func registerRepeated<M: JSONMessage, C: JSONFieldCodec>(_ ext: MessageExtension<M, C>) {
        add(Entry(
            protoName: ext.protoName, fieldNumber: ext.fieldNumber,
            decodeJSON: { decoder in
                var values: [C.Value] = []
                try decoder.readRepeated(C.self, into: &values)
                var holder = M()
                holder.setRepeatedExtensionValues(ext, values)
                return Array(holder.unknownFields.bytes)
            },
            encodeJSON: { message, encoder in
                guard let message = message as? M else { return }
                let values = message.repeatedExtensionValues(ext)
                guard !values.isEmpty else { return }
                try encoder.writeRepeatedField(ext.protoName, ext.protoName, C.self, values, memberName: "[\(ext.protoName)]")
            }), to: M.protoMessageName)
    }

    private mutating func add(_ entry: Entry, to message: String) {
        var list = entries[message, default: []].filter { $0.fieldNumber != entry.fieldNumber }
        list.append(entry)
        list.sort { $0.fieldNumber < $1.fieldNumber }
        entries[message] = list
    }

    func extensionNamed(_ name: String, extending message: String) -> Entry? {
        entries[message]?.first { $0.protoName == name }
    }

    func extensions(of message: String) -> [Entry] {
        entries[message] ?? []
    }
}

extension ProtoJSONEncoder {
    /// Writes the registered extensions `message` holds, as `"[pkg.ext]"` members, after its
    /// fields.
    public mutating func writeExtensions<M: JSONMessage>(of message: M) throws {
        guard !message.unknownFields.isEmpty else { return }
        for entry in options.extensions.extensions(of: M.protoMessageName) {
            try entry.encodeJSON(message, &self)
        }
    }
}
