/// Writes JSON for generated messages: the members, arrays and values they are made of,
/// compact or indented.
///
/// Generated `encodeJSON(to:)` methods call ``beginObject()``, one `write…Field` per set
/// field, and ``endObject()``; the field helpers pick the member name the options ask for
/// and the value's form from the field's codec. The output is deterministic: fields in
/// declaration order, map entries sorted by key.
public struct ProtoJSONEncoder {
    /// What the caller asked for.
    public let options: JSONEncodingOptions
    @usableFromInline var bytes: [UInt8] = []
    /// Whether the innermost open container already holds an element, so the next needs a comma.
    @usableFromInline var containerHasElements = false
    @usableFromInline var depth = 0
    /// Set by ``continueNextObject()``: the next ``beginObject()`` adds to the object already
    /// open instead of opening one (how an `Any` puts `@type` among its message's fields).
    @usableFromInline var spliceNextObject = false

    /// An encoder writing with `options`.
    public init(options: JSONEncodingOptions) {
        self.options = options
        bytes.reserveCapacity(128)
    }

    /// The JSON written.
    public mutating func finish() -> [UInt8] {
        bytes
    }

    /// Whether fields without presence are written at their defaults.
    @inlinable
    public var writesDefaults: Bool { options.alwaysPrintFieldsWithoutPresence }

    // MARK: Structure

    /// Opens an object.
    @inlinable
    public mutating func beginObject() {
        if spliceNextObject {
            spliceNextObject = false
            return
        }
        bytes.append(UInt8(ascii: "{"))
        depth += 1
        containerHasElements = false
    }

    /// Closes the innermost object.
    @inlinable
    public mutating func endObject() {
        closeContainer(UInt8(ascii: "}"))
    }

    /// Opens an array.
    @inlinable
    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        depth += 1
        containerHasElements = false
    }

    /// Closes the innermost array.
    @inlinable
    public mutating func endArray() {
        closeContainer(UInt8(ascii: "]"))
    }

    @inlinable
    mutating func closeContainer(_ byte: UInt8) {
        depth -= 1
        if containerHasElements { newline() }
        bytes.append(byte)
        containerHasElements = true
    }

    /// Makes the next ``beginObject()`` continue the object that is open, so that a message's
    /// fields follow members already written (an `Any`'s `@type`).
    public mutating func continueNextObject() {
        spliceNextObject = true
    }

    /// Starts an array element: a comma after the previous one.
    @inlinable
    public mutating func beginElement() {
        if containerHasElements { bytes.append(UInt8(ascii: ",")) }
        newline()
        containerHasElements = true
    }

    /// Writes a member's name and colon; its value follows.
    @inlinable
    public mutating func writeMemberName(_ name: String) {
        if options.indentation == nil, writeCompactMemberName(name) { return }
        beginElement()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        if options.indentation != nil { bytes.append(UInt8(ascii: " ")) }
    }

    /// The common case of ``writeMemberName(_:)``, compact output and a short name that needs
    /// no escaping: `,"name":` assembled on the stack and appended at once, one append instead
    /// of five. False (nothing written) otherwise.
    @usableFromInline
    mutating func writeCompactMemberName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            guard utf8.count <= 60 else { return false }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
                var count = 0
                if containerHasElements {
                    out[0] = UInt8(ascii: ",")
                    count = 1
                }
                out[count] = UInt8(ascii: "\"")
                count += 1
                for byte in utf8 {
                    guard byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { return false }
                    out[count] = byte
                    count += 1
                }
                out[count] = UInt8(ascii: "\"")
                out[count + 1] = UInt8(ascii: ":")
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: out[..<(count + 2)]))
                containerHasElements = true
                return true
            }
        }
    }

    /// Writes the name of a field: its JSON name, or its `.proto` name if asked.
    @inlinable
    public mutating func writeFieldName(_ jsonName: String, _ protoName: String) {
        writeMemberName(options.preservingProtoFieldNames ? protoName : jsonName)
    }

    @inlinable
    mutating func newline() {
        guard let indentation = options.indentation else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indentation * depth))
    }

    // MARK: Values

    /// Writes `null`.
    @inlinable
    public mutating func writeNull() { writeRaw("null") }

    /// Writes `true` or `false`.
    @inlinable
    public mutating func writeBool(_ value: Bool) { writeRaw(value ? "true" : "false") }

    /// Writes text that is already JSON: a number or a literal.
    @inlinable
    public mutating func writeRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    @usableFromInline static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes an integer's decimal digits, in quotes if asked (64-bit integers are strings in
    /// proto3 JSON), without making a `String` of them.
    @inlinable
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T, quoted: Bool) {
        // The magnitude, as UInt64: T.min's magnitude fits there for every width up to 64.
        let magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        // Quotes, sign and digits are made from the last on the stack and appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { out in
            var index = out.count
            if quoted {
                index -= 1
                out[index] = UInt8(ascii: "\"")
            }
            index = Self.fillDigits(of: magnitude, into: out, endingAt: index)
            if value < 0 {
                index -= 1
                out[index] = UInt8(ascii: "-")
            }
            if quoted {
                index -= 1
                out[index] = UInt8(ascii: "\"")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: out[index...]))
        }
    }

    /// Appends a number's digits, zero-padded to at least `width`, with no sign, quotes or
    /// separator: an integer's magnitude, the parts of a timestamp or a duration. The digits
    /// are made from the last in a buffer on the stack and appended at once: no `String`.
    @usableFromInline
    mutating func appendDigits(of magnitude: UInt64, width: Int = 1) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            let start = Self.fillDigits(of: magnitude, into: digits, endingAt: digits.count, width: width)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Writes `magnitude`'s decimal digits, zero-padded to at least `width`, into `out`
    /// just before `end`, and returns where they start.
    @inlinable
    static func fillDigits(of magnitude: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, endingAt end: Int, width: Int = 1) -> Int {
        var rest = magnitude
        var index = end
        repeat {
            index -= 1
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while rest > 0 || end - index < width
        return index
    }

    /// Writes a string, escaped as RFC 8259 requires (quotes, backslashes, control characters).
    @inlinable
    public mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        // Native and literal strings are contiguous already: `withUTF8` copies nothing.
        value.withUTF8 { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends UTF-8 text escaped for a JSON string: the runs between characters that need
    /// escaping are copied whole, not byte by byte.
    @usableFromInline
    mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            appendEscape(for: byte)
            runStart = index + 1
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
    }

    /// Appends the escape sequence for a quote, a backslash or a control character.
    @usableFromInline
    mutating func appendEscape(for byte: UInt8) {
        let backslash = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [backslash, UInt8(ascii: "\"")])
        case backslash: bytes.append(contentsOf: [backslash, backslash])
        case 0x0A: bytes.append(contentsOf: [backslash, UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [backslash, UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [backslash, UInt8(ascii: "t")])
        case 0x08: bytes.append(contentsOf: [backslash, UInt8(ascii: "b")])
        case 0x0C: bytes.append(contentsOf: [backslash, UInt8(ascii: "f")])
        default:
            bytes.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]])
        }
    }

    /// Writes a JSON value as it is.
    public mutating func writeValue(_ value: JSONValue) {
        switch value {
        case .null: writeNull()
        case .bool(let flag): writeBool(flag)
        case .number(let text): writeRaw(text)
        case .string(let text): writeString(text)
        case .array(let elements):
            beginArray()
            for element in elements {
                beginElement()
                writeValue(element)
            }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                writeMemberName(member.name)
                writeValue(member.value)
            }
            endObject()
        }
    }

    // MARK: Fields

    /// Writes a singular field.
    @inlinable
    public mutating func writeField<C: JSONFieldCodec>(
        _ jsonName: String, _ protoName: String, _: C.Type, _ value: C.Value, memberName: String? = nil
    ) throws {
        if let memberName { writeMemberName(memberName) } else { writeFieldName(jsonName, protoName) }
        do {
            try C.writeJSON(value, to: &self)
        } catch let error as JSONEncodingError {
            throw error.nested(under: memberName.map(jsonPathKey) ?? "." + jsonName)
        }
    }

    /// Writes a repeated field as an array.
    @inlinable
    public mutating func writeRepeatedField<C: JSONFieldCodec>(
        _ jsonName: String, _ protoName: String, _: C.Type, _ values: [C.Value], memberName: String? = nil
    ) throws {
        if let memberName { writeMemberName(memberName) } else { writeFieldName(jsonName, protoName) }
        beginArray()
        for index in values.indices {
            beginElement()
            do {
                try C.writeJSON(values[index], to: &self)
            } catch let error as JSONEncodingError {
                throw error.nested(under: ".\(jsonName)[\(index)]")
            }
        }
        endArray()
    }

    /// Writes a map field as an object, its entries sorted by key so that output is
    /// deterministic.
    @inlinable
    public mutating func writeMapField<K: JSONMapKeyCodec, V: JSONFieldCodec>(
        _ jsonName: String, _ protoName: String, _: K.Type, _: V.Type, _ map: [K.Value: V.Value]
    ) throws {
        writeFieldName(jsonName, protoName)
        beginObject()
        for (key, value) in map.sorted(by: { K.less($0.key, $1.key) }) {
            let name = K.jsonMapKey(key)
            writeMemberName(name)
            do {
                try V.writeJSON(value, to: &self)
            } catch let error as JSONEncodingError {
                throw error.nested(under: "." + jsonName + jsonPathKey(name))
            }
        }
        endObject()
    }
}
