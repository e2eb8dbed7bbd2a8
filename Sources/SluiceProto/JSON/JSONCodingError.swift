/// Why JSON could not be decoded into a message: what was wrong, and where.
///
/// `path` is a JSONPath into the document (`$.items[3].createdAt`, `$.labels["k"]`), built
/// as the error propagates out, so that decoding pays nothing for it until something fails.
public struct JSONDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// The text is not JSON; `offset` is the byte where that was found.
        case malformedJSON(reason: String, offset: Int)
        /// A value of the wrong JSON kind: `expected` says what the field takes.
        case typeMismatch(expected: String, found: String)
        /// An object member that names no field of the message.
        case unknownField(name: String, message: String)
        /// The same field twice in one object, under one or both of its names.
        case duplicateField(name: String)
        /// Two members of one oneof set in one object.
        case oneofConflict(oneof: String, message: String)
        /// A value of the right kind that the field cannot take: out of range, not an
        /// integer, a name the enum does not have, a malformed timestamp.
        case invalidValue(String)
        /// An `Any` whose type URL names a message the type registry does not hold.
        case unknownType(typeURL: String)
        /// The document is longer than ``JSONDecodingOptions/maxBytes``.
        case documentTooLarge(bytes: Int, limit: Int)
        /// The decoded message does not fit the binary format's limits, or lacks a proto2
        /// required field.
        case invalidMessage(String)
    }

    /// What went wrong.
    public var reason: Reason
    /// Where in the document, `$` being the document itself.
    public var path: String

    /// An error at the document's root.
    public init(_ reason: Reason, path: String = "$") {
        self.reason = reason
        self.path = path
    }

    /// The same error one level further out: `component` is `.name`, `[3]` or `["key"]`.
    @usableFromInline
    func nested(under component: String) -> JSONDecodingError {
        var copy = self
        copy.path = "$" + component + path.dropFirst()
        return copy
    }

    public var description: String {
        switch reason {
        case .malformedJSON(let reason, let offset):
            return "malformed JSON at byte \(offset): \(reason)"
        case .typeMismatch(let expected, let found):
            return "\(path): expected \(expected), found \(found)"
        case .unknownField(let name, let message):
            return "\(path): \(message) has no field named \"\(name)\""
        case .duplicateField(let name):
            return "\(path): field \"\(name)\" appears more than once"
        case .oneofConflict(let oneof, let message):
            return "\(path): more than one member of oneof \(message).\(oneof) is set"
        case .invalidValue(let what):
            return "\(path): \(what)"
        case .unknownType(let typeURL):
            return "\(path): no type registered for \"\(typeURL)\""
        case .documentTooLarge(let bytes, let limit):
            return "the JSON document is \(bytes) bytes, over the limit of \(limit)"
        case .invalidMessage(let what):
            return "\(path): \(what)"
        }
    }
}

/// Why a message could not be written as JSON: a value the JSON mapping has no form for.
///
/// The mapping rejects, as every protobuf runtime does, a `Timestamp` or `Duration` outside
/// its range, a `Value` holding NaN or an infinity, a `FieldMask` path that does not survive
/// the lowerCamelCase round trip, and an `Any` whose type is not in the registry.
public struct JSONEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What could not be written.
    public var reason: String
    /// Where in the message, as a JSONPath of the JSON that would have been written.
    public var path: String

    /// An error at the message's root.
    public init(_ reason: String, path: String = "$") {
        self.reason = reason
        self.path = path
    }

    @usableFromInline
    func nested(under component: String) -> JSONEncodingError {
        var copy = self
        copy.path = "$" + component + path.dropFirst()
        return copy
    }

    public var description: String { "\(path): \(reason)" }
}

/// The path component of a map key: `["key"]`, with the key escaped as a JSON string.
@usableFromInline
func jsonPathKey(_ key: String) -> String {
    var text = "[\""
    for scalar in key.unicodeScalars {
        switch scalar {
        case "\"": text += "\\\""
        case "\\": text += "\\\\"
        default: text.unicodeScalars.append(scalar)
        }
    }
    return text + "\"]"
}
