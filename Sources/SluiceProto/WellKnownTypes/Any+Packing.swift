/// Why `Google_Protobuf_Any.unpack(_:)` could not produce the requested type.
public struct AnyUnpackError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The type URL the `Any` carries.
    public var typeURL: String
    /// The message name that was asked for.
    public var requested: String

    /// An error for an `Any` holding `typeURL` when `requested` was asked for.
    public init(typeURL: String, requested: String) {
        self.typeURL = typeURL
        self.requested = requested
    }

    public var description: String {
        "Any holds \(typeURL), not \(requested)"
    }
}

extension Google_Protobuf_Any {
    /// The prefix of type URLs Sluice writes, as every protobuf runtime does.
    public static let defaultTypeURLPrefix = "type.googleapis.com"

    /// Packs `message` with its type URL.
    public init<M: Message>(packing message: M, typeURLPrefix: String = Self.defaultTypeURLPrefix) {
        self.init()
        self.typeURL = typeURLPrefix + "/" + M.protoMessageName
        self.value = message.serializedData()
    }

    /// The fully qualified message name: what follows the last `/` of the type URL.
    public var messageName: String {
        guard let slash = typeURL.lastIndex(of: "/") else { return typeURL }
        return String(typeURL[typeURL.index(after: slash)...])
    }

    /// Whether this `Any` holds an `M`.
    public func isA<M: Message>(_ type: M.Type) -> Bool {
        messageName == M.protoMessageName
    }

    /// Decodes the packed message, checking its type URL first.
    public func unpack<M: Message>(_ type: M.Type = M.self, options: DecodingOptions = DecodingOptions()) throws -> M {
        guard isA(M.self) else {
            throw AnyUnpackError(typeURL: typeURL, requested: M.protoMessageName)
        }
        return try M(serializedBytes: value, options: options)
    }
}
