/// Reads JSON into generated messages, field by field.
///
/// A generated `mergeJSON(_:decoder:)` hands its object to ``decodeObject(_:fields:into:messageName:decodeField:)``,
/// which checks the members' names (either name of a field, never twice, one member per
/// oneof) and calls back with each field's number and value; the `read…` helpers turn the
/// value into the field's Swift type through its codec. `null` means "not set" for every
/// field except those of type `google.protobuf.Value` and `NullValue`, as the spec says.
public struct ProtoJSONDecoder {
    /// What the caller asked for.
    public let options: JSONDecodingOptions

    /// A decoder reading with `options`.
    public init(options: JSONDecodingOptions) {
        self.options = options
    }

    /// Decodes the members of a JSON object into `message`.
    ///
    /// - Parameters:
    ///   - json: The value, which must be an object.
    ///   - fields: The message's field names.
    ///   - message: The message the fields are merged into.
    ///   - messageName: The message's full name, for errors.
    ///   - decodeField: Called with each known field's number and value.
    @inlinable
    public mutating func decodeObject<M: JSONMessage>(
        _ json: JSONValue, fields: JSONFieldTable, into message: inout M, messageName: String,
        decodeField: (inout M, Int, JSONValue, inout ProtoJSONDecoder) throws -> Void
    ) throws {
        guard case .object(let members) = json else {
            throw JSONDecodingError(.typeMismatch(expected: "an object (\(messageName))", found: json.kindDescription))
        }
        // Which fields and oneofs were seen: bits for the first 64 (no allocation), a set past them.
        var seenNumberBits: UInt64 = 0
        var seenOneofBits: UInt64 = 0
        var seenBeyond = Set<Int>()
        func firstSighting(_ value: Int, _ bits: inout UInt64, offset: Int) -> Bool {
            if value >= 0 && value < 64 {
                let bit: UInt64 = 1 << UInt64(value)
                defer { bits |= bit }
                return bits & bit == 0
            }
            return seenBeyond.insert(value &+ offset).inserted
        }
        for member in members {
            do {
                guard let field = fields.field(named: member.name) else {
                    if fields.isExtensible, member.name.hasPrefix("["), member.name.hasSuffix("]") {
                        try decodeExtension(member.name, member.value, into: &message)
                        continue
                    }
                    if options.ignoreUnknownFields { continue }
                    throw JSONDecodingError(.unknownField(name: member.name, message: messageName))
                }
                guard firstSighting(field.number, &seenNumberBits, offset: 0) else {
                    throw JSONDecodingError(.duplicateField(name: member.name))
                }
                if field.oneofIndex >= 0, member.value != .null {
                    // Oneof indexes are kept apart from field numbers past 64 by a negative offset.
                    guard firstSighting(field.oneofIndex, &seenOneofBits, offset: Int.min / 2) else {
                        throw JSONDecodingError(.oneofConflict(oneof: field.oneofName, message: messageName))
                    }
                }
                try decodeField(&message, field.number, member.value, &self)
            } catch let error as JSONDecodingError {
                throw error.nested(under: member.name.hasPrefix("[") ? jsonPathKey(member.name) : "." + member.name)
            }
        }
    }

    /// A `"[pkg.ext]"` member: an extension from the registry, kept in the message's unknown
    /// fields as the binary decoder keeps it.
    @usableFromInline
    mutating func decodeExtension<M: JSONMessage>(_ name: String, _ value: JSONValue, into message: inout M) throws {
        let extensionName = String(name.dropFirst().dropLast())
        guard let ext = options.extensions.extensionNamed(extensionName, extending: M.protoMessageName) else {
            if options.ignoreUnknownFields { return }
            throw JSONDecodingError(.unknownField(name: name, message: M.protoMessageName))
        }
        let bytes = try ext.decodeJSON(value, &self)
        bytes.withUnsafeBytes { message.unknownFields.append($0) }
    }

    // MARK: Fields

    /// A proto3 field without presence: `null` resets it to its default.
    @inlinable
    public mutating func readImplicit<C: JSONFieldCodec>(_: C.Type, _ json: JSONValue, into field: inout C.Value) throws {
        if json == .null && !C.acceptsJSONNull {
            field = C.defaultValue
        } else if let value = try C.readJSON(json, decoder: &self) {
            field = value
        }
    }

    /// A field with presence: `null` clears it.
    @inlinable
    public mutating func readOptional<C: JSONFieldCodec>(_: C.Type, _ json: JSONValue, into field: inout C.Value?) throws {
        if json == .null && !C.acceptsJSONNull {
            field = nil
        } else if let value = try C.readJSON(json, decoder: &self) {
            field = value
        }
    }

    /// A oneof member's value, or nil when it is `null` (which leaves the oneof as it was).
    @inlinable
    public mutating func readOneofMember<C: JSONFieldCodec>(_: C.Type, _ json: JSONValue) throws -> C.Value? {
        if json == .null && !C.acceptsJSONNull { return nil }
        return try C.readJSON(json, decoder: &self)
    }

    /// A singular embedded message: merged into what is there; `null` clears it.
    @inlinable
    public mutating func readMessage<M: JSONMessage>(_ json: JSONValue, into field: inout M?) throws {
        if json == .null && !M.acceptsJSONNull {
            field = nil
            return
        }
        var message = field ?? M()
        try message.mergeJSON(json, decoder: &self)
        field = message
    }

    /// A singular embedded message on a reference cycle, boxed.
    @inlinable
    public mutating func readMessage<M: JSONMessage>(_ json: JSONValue, into field: inout Indirect<M>?) throws {
        var unboxed = field?.wrapped
        try readMessage(json, into: &unboxed)
        field = unboxed.map(Indirect.init)
    }

    /// A repeated field: the array's elements are appended; `null` clears the field.
    @inlinable
    public mutating func readRepeated<C: JSONFieldCodec>(_: C.Type, _ json: JSONValue, into field: inout [C.Value]) throws {
        switch json {
        case .null:
            field = []
        case .array(let elements):
            field.reserveCapacity(field.count + elements.count)
            for index in elements.indices {
                let element = elements[index]
                do {
                    if element == .null && !C.acceptsJSONNull {
                        throw JSONDecodingError(.typeMismatch(expected: "an element of a repeated field", found: "null"))
                    }
                    if let value = try C.readJSON(element, decoder: &self) { field.append(value) }
                } catch let error as JSONDecodingError {
                    throw error.nested(under: "[\(index)]")
                }
            }
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an array", found: json.kindDescription))
        }
    }

    /// A map field: the object's members are merged in; `null` clears the field.
    @inlinable
    public mutating func readMap<K: JSONMapKeyCodec, V: JSONFieldCodec>(
        _: K.Type, _: V.Type, _ json: JSONValue, into field: inout [K.Value: V.Value]
    ) throws {
        switch json {
        case .null:
            field = [:]
        case .object(let members):
            var seen = Set<K.Value>()
            for member in members {
                do {
                    let key = try K.readJSONMapKey(member.name)
                    guard seen.insert(key).inserted else {
                        throw JSONDecodingError(.invalidValue("map key \"\(member.name)\" appears more than once"))
                    }
                    if member.value == .null && !V.acceptsJSONNull {
                        throw JSONDecodingError(.typeMismatch(expected: "a map value", found: "null"))
                    }
                    if let value = try V.readJSON(member.value, decoder: &self) { field[key] = value }
                } catch let error as JSONDecodingError {
                    throw error.nested(under: jsonPathKey(member.name))
                }
            }
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an object (a map)", found: json.kindDescription))
        }
    }

    /// Whether an enum name the schema lacks is skipped rather than an error.
    var skipsUnknownEnumValues: Bool { options.ignoreUnknownFields }
}
