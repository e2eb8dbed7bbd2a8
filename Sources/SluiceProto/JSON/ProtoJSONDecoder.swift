/// Reads JSON into generated messages, field by field, straight from the document's bytes.
///
/// A generated `mergeJSON(from:)` calls ``decodeObject(fields:into:messageName:decodeField:)``,
/// which reads the object's members, matches their names against the message's
/// ``JSONFieldTable`` without making `String`s (either name of a field, never twice, one
/// member per oneof), and calls back with each field's number; the `read…` helpers then read
/// the member's value into the field's Swift type through its codec. `null` means "not set"
/// for every field except those of type `google.protobuf.Value` and `NullValue`, as the spec
/// says. No tree of the document is built, except for the well-known types that hold any
/// JSON (`Struct`, `Value`).
public struct ProtoJSONDecoder {
    /// What the caller asked for.
    public let options: JSONDecodingOptions
    /// The document, and where reading is in it.
    @usableFromInline
    var scanner: JSONScanner
    /// Set by `Any` just before the held message reads the `Any`'s own object, whose
    /// `"@type"` member that message must then skip.
    @usableFromInline
    var skipsTypeMemberOfNextObject = false

    /// A decoder reading `bytes` with `options`.
    init(options: JSONDecodingOptions, bytes: [UInt8]) {
        self.options = options
        self.scanner = JSONScanner(bytes: bytes, maxDepth: options.maxDepth)
    }

    /// Fails unless the document has ended.
    mutating func finish() throws {
        try scanner.expectEnd()
    }

    /// Decodes the members of the next JSON object into `message`.
    ///
    /// - Parameters:
    ///   - fields: The message's field names.
    ///   - message: The message the fields are merged into.
    ///   - messageName: The message's full name, for errors.
    ///   - decodeField: Called with each known field's number, to read the member's value.
    @inlinable
    public mutating func decodeObject<M: JSONMessage>(
        fields: JSONFieldTable, into message: inout M, messageName: String,
        decodeField: (inout M, Int, inout ProtoJSONDecoder) throws -> Void
    ) throws {
        guard scanner.peekKind() == .object else {
            throw JSONDecodingError(.typeMismatch(expected: "an object (\(messageName))", found: try scanner.describeNextValue()))
        }
        let skipsTypeMember = skipsTypeMemberOfNextObject
        skipsTypeMemberOfNextObject = false
        guard try scanner.beginObject() else { return }
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
        // Members usually come in the fields' order: the field after the last one found is
        // tried first.
        var hint = 0
        repeat {
            let name = try scanner.memberName()
            do {
                let index = name.escaped.map { fields.index(named: $0) } ?? fields.index(of: scanner.bytes, name.range, hint: hint)
                guard let index else {
                    try skipUnknownMember(scanner.string(of: name), fields: fields, into: &message, skipsTypeMember: skipsTypeMember)
                    continue
                }
                hint = index + 1
                let field = fields.numberAndOneof(at: index)
                guard firstSighting(field.number, &seenNumberBits, offset: 0) else {
                    throw JSONDecodingError(.duplicateField(name: scanner.string(of: name)))
                }
                if field.oneofIndex >= 0, scanner.peekKind() != .null {
                    // Oneof indexes are kept apart from field numbers past 64 by a negative offset.
                    guard firstSighting(field.oneofIndex, &seenOneofBits, offset: Int.min / 2) else {
                        throw JSONDecodingError(.oneofConflict(oneof: fields[index].oneofName, message: messageName))
                    }
                }
                try decodeField(&message, field.number, &self)
            } catch let error as JSONDecodingError {
                let text = scanner.string(of: name)
                throw error.nested(under: text.hasPrefix("[") ? jsonPathKey(text) : "." + text)
            }
        } while try scanner.nextMember()
    }

    /// A member that names no field: an extension (`"[pkg.ext]"`), an `Any`'s `"@type"`, or
    /// unknown (skipped, or an error, as the options say).
    @usableFromInline
    mutating func skipUnknownMember<M: JSONMessage>(
        _ name: String, fields: JSONFieldTable, into message: inout M, skipsTypeMember: Bool
    ) throws {
        if fields.isExtensible, name.hasPrefix("["), name.hasSuffix("]") {
            try decodeExtension(name, into: &message)
        } else if options.ignoreUnknownFields || (skipsTypeMember && name == "@type") {
            try scanner.skipValue()
        } else {
            throw JSONDecodingError(.unknownField(name: name, message: M.protoMessageName))
        }
    }

    /// A `"[pkg.ext]"` member: an extension from the registry, kept in the message's unknown
    /// fields as the binary decoder keeps it.
    mutating func decodeExtension<M: JSONMessage>(_ name: String, into message: inout M) throws {
        let extensionName = String(name.dropFirst().dropLast())
        guard let ext = options.extensions.extensionNamed(extensionName, extending: M.protoMessageName) else {
            if options.ignoreUnknownFields { return try scanner.skipValue() }
            throw JSONDecodingError(.unknownField(name: name, message: M.protoMessageName))
        }
        let bytes = try ext.decodeJSON(&self)
        bytes.withUnsafeBytes { message.unknownFields.append($0) }
    }

    // MARK: Fields

    /// A proto3 field without presence: `null` resets it to its default.
    @inlinable
    public mutating func readImplicit<C: JSONFieldCodec>(_: C.Type, into field: inout C.Value) throws {
        if !C.acceptsJSONNull, try scanner.consumeNull() {
            field = C.defaultValue
        } else if let value = try C.readJSON(from: &self) {
            field = value
        }
    }

    /// A field with presence: `null` clears it.
    @inlinable
    public mutating func readOptional<C: JSONFieldCodec>(_: C.Type, into field: inout C.Value?) throws {
        if !C.acceptsJSONNull, try scanner.consumeNull() {
            field = nil
        } else if let value = try C.readJSON(from: &self) {
            field = value
        }
    }

    /// A oneof member's value, or nil when it is `null` (which leaves the oneof as it was).
    @inlinable
    public mutating func readOneofMember<C: JSONFieldCodec>(_: C.Type) throws -> C.Value? {
        if !C.acceptsJSONNull, try scanner.consumeNull() { return nil }
        return try C.readJSON(from: &self)
    }

    /// A singular embedded message: merged into what is there; `null` clears it.
    @inlinable
    public mutating func readMessage<M: JSONMessage>(into field: inout M?) throws {
        if !M.acceptsJSONNull, try scanner.consumeNull() {
            field = nil
            return
        }
        var message = field ?? M()
        field = nil
        try message.mergeJSON(from: &self)
        field = message
    }

    /// A singular embedded message on a reference cycle, boxed.
    @inlinable
    public mutating func readMessage<M: JSONMessage>(into field: inout Indirect<M>?) throws {
        var unboxed = field?.wrapped
        try readMessage(into: &unboxed)
        field = unboxed.map(Indirect.init)
    }

    /// A repeated field: the array's elements are appended; `null` clears the field.
    @inlinable
    public mutating func readRepeated<C: JSONFieldCodec>(_: C.Type, into field: inout [C.Value]) throws {
        switch scanner.peekKind() {
        case .null:
            _ = try scanner.consumeNull()
            field = []
        case .array:
            guard try scanner.beginArray() else { return }
            var index = 0
            repeat {
                do {
                    if !C.acceptsJSONNull, scanner.peekKind() == .null {
                        throw JSONDecodingError(.typeMismatch(expected: "an element of a repeated field", found: "null"))
                    }
                    if let value = try C.readJSON(from: &self) { field.append(value) }
                } catch let error as JSONDecodingError {
                    throw error.nested(under: "[\(index)]")
                }
                index += 1
            } while try scanner.nextElement()
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an array", found: try scanner.describeNextValue()))
        }
    }

    /// A map field: the object's members are merged in; `null` clears the field.
    @inlinable
    public mutating func readMap<K: JSONMapKeyCodec, V: JSONFieldCodec>(
        _: K.Type, _: V.Type, into field: inout [K.Value: V.Value]
    ) throws {
        switch scanner.peekKind() {
        case .null:
            _ = try scanner.consumeNull()
            field = [:]
        case .object:
            guard try scanner.beginObject() else { return }
            var seen = Set<K.Value>()
            repeat {
                let name = scanner.string(of: try scanner.memberName())
                do {
                    let key = try K.readJSONMapKey(name)
                    guard seen.insert(key).inserted else {
                        throw JSONDecodingError(.invalidValue("map key \"\(name)\" appears more than once"))
                    }
                    if !V.acceptsJSONNull, scanner.peekKind() == .null {
                        throw JSONDecodingError(.typeMismatch(expected: "a map value", found: "null"))
                    }
                    if let value = try V.readJSON(from: &self) { field[key] = value }
                } catch let error as JSONDecodingError {
                    throw error.nested(under: jsonPathKey(name))
                }
            } while try scanner.nextMember()
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an object (a map)", found: try scanner.describeNextValue()))
        }
    }

    // MARK: Values

    /// The next value whole, as a tree: for types that take any JSON.
    public mutating func readJSONValue() throws -> JSONValue {
        try scanner.value()
    }

    /// The next value, which must be a string.
    ///
    /// - Parameter expected: What the field takes, for the error when it is not a string.
    @inlinable
    public mutating func readString(expected: @autoclosure () -> String = "a string") throws -> String {
        guard scanner.peekKind() == .string else {
            throw JSONDecodingError(.typeMismatch(expected: expected(), found: try scanner.describeNextValue()))
        }
        if let range = try scanner.plainStringRange() { return scanner.text(range) }
        return try scanner.string()
    }

    /// The next value, which must be a string, handed to `body` as UTF-8: the document's own
    /// bytes when the string has no escapes (nearly always: no copy, no `String`), else the
    /// decoded string's.
    ///
    /// - Parameters:
    ///   - expected: What the field takes, for the error when it is not a string.
    ///   - body: Reads the string's bytes.
    mutating func withStringUTF8<R>(
        expected: @autoclosure () -> String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) throws -> R {
        guard scanner.peekKind() == .string else {
            throw JSONDecodingError(.typeMismatch(expected: expected(), found: try scanner.describeNextValue()))
        }
        if let range = try scanner.plainStringRange() {
            return try scanner.bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
        }
        var decoded = try scanner.string()
        return try decoded.withUTF8(body)
    }

    /// The next value, which must be `true` or `false`.
    @inlinable
    public mutating func readBool() throws -> Bool {
        guard scanner.peekKind() == .bool else {
            throw JSONDecodingError(.typeMismatch(expected: "true or false", found: try scanner.describeNextValue()))
        }
        return try scanner.bool()
    }

    /// The next value as an integer of type `T`: a number, or a string holding one.
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(_: T.Type, typeName: String) throws -> T {
        let range: Range<Int>
        switch scanner.peekKind() {
        case .number:
            range = try scanner.numberRange()
        case .string:
            guard let plain = try scanner.plainStringRange() else {
                return try JSONNumbers.integer(text: try scanner.string(), as: T.self, typeName: typeName)
            }
            range = plain
        default:
            throw JSONDecodingError(.typeMismatch(expected: "an integer (\(typeName))", found: try scanner.describeNextValue()))
        }
        return try JSONNumbers.integer(scanner.bytes, range, as: T.self, typeName: typeName)
    }

    /// The next value as a `Double`: a number, or a string holding one or `"NaN"`,
    /// `"Infinity"`, `"-Infinity"`.
    public mutating func readDouble(typeName: String) throws -> Double {
        switch scanner.peekKind() {
        case .number:
            return try JSONNumbers.double(scanner.bytes, try scanner.numberRange(), quoted: false, typeName: typeName)
        case .string:
            if let range = try scanner.plainStringRange() {
                return try JSONNumbers.double(scanner.bytes, range, quoted: true, typeName: typeName)
            }
            return try JSONNumbers.double(.string(try scanner.string()), typeName: typeName)
        default:
            throw JSONDecodingError(.typeMismatch(expected: "a number (\(typeName))", found: try scanner.describeNextValue()))
        }
    }

    /// Whether an enum name the schema lacks is skipped rather than an error.
    @usableFromInline
    var skipsUnknownEnumValues: Bool { options.ignoreUnknownFields }
}
