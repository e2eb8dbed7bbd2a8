import SluiceProto

/// A REST request the transcoder cannot turn into a gRPC request: HTTP 400 with this text.
public struct RESTRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, naming the parameter, field or JSON path.
    public let reason: String

    public var description: String { reason }
}

/// Builds the gRPC request message, as proto3 JSON, from what an HTTP request carries: the
/// body (all of it, or one field of it), then the path's variables, then (unless the body is
/// the whole message) the query parameters. The JSON parser of the generated types then
/// checks every name and value and says where one is wrong.
enum RESTMessageBuilder {
    static func requestJSON(
        binding: HTTPBinding, pathValues: [(fieldPath: [String], value: String)], query: Substring?, body: [UInt8]
    ) throws(RESTRequestError) -> [UInt8] {
        var root = JSONValue.object([])
        let bodyIsEmpty = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        switch binding.body {
        case "":
            break
        case "*":
            if !bodyIsEmpty { root = try parse(body) }
            guard case .object = root else { throw RESTRequestError(reason: "the body must be a JSON object") }
        default:
            if !bodyIsEmpty { try set(&root, path: binding.body.split(separator: ".").map(String.init)[...], to: try parse(body)) }
        }
        // Path variables win over the body (a body field of the same name is replaced).
        for (fieldPath, value) in pathValues {
            try set(&root, path: fieldPath[...], to: typed(value, fieldPath, binding))
        }
        guard binding.body != "*", let query, !query.isEmpty else { return serialize(root) }
        let bound = pathValues.map { $0.fieldPath.joined(separator: ".") } + (binding.body.isEmpty ? [] : [binding.body])
        var seen = Set<String>()
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = PercentDecoding.decode(parts[0], keepSlash: false, plusIsSpace: true), !key.isEmpty,
                  let value = PercentDecoding.decode(parts.count > 1 ? parts[1] : "", keepSlash: false, plusIsSpace: true) else {
                throw RESTRequestError(reason: "query parameter '\(pair)' is not valid percent-encoded UTF-8")
            }
            // Fields the path or the body already set are not read from the query.
            if bound.contains(where: { key == $0 || key.hasPrefix($0 + ".") }) { continue }
            let fieldPath = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !fieldPath.contains(where: \.isEmpty) else {
                throw RESTRequestError(reason: "query parameter '\(key)' is not a field path")
            }
            if binding.repeatedFields.contains(key) {
                try set(&root, path: fieldPath[...], to: typed(value, fieldPath, binding), appending: true)
            } else {
                guard seen.insert(key).inserted else {
                    throw RESTRequestError(reason: "query parameter '\(key)' is given more than once, but the field is not repeated")
                }
                try set(&root, path: fieldPath[...], to: typed(value, fieldPath, binding))
            }
        }
        return serialize(root)
    }

    /// A path or query value as JSON: a string, which the proto3 JSON parser reads as any
    /// scalar, enum or string-formed well-known type, except for booleans.
    private static func typed(_ value: String, _ fieldPath: [String], _ binding: HTTPBinding) throws(RESTRequestError) -> JSONValue {
        let name = fieldPath.joined(separator: ".")
        guard binding.boolFields.contains(name) else { return .string(value) }
        switch value {
        case "true", "1": return .bool(true)
        case "false", "0": return .bool(false)
        default: throw RESTRequestError(reason: "parameter '\(name)': '\(value)' is not true or false")
        }
    }

    private static func parse(_ body: [UInt8]) throws(RESTRequestError) -> JSONValue {
        do {
            return try JSONValue(parsing: body)
        } catch {
            throw RESTRequestError(reason: "the body is not valid JSON: \(error)")
        }
    }

    /// Sets the field at `path` (proto names) in `object`, creating the messages on the way;
    /// a member spelled with the field's JSON name is replaced too.
    private static func set(_ object: inout JSONValue, path: ArraySlice<String>, to value: JSONValue,
                            appending: Bool = false) throws(RESTRequestError) {
        guard case .object(var members) = object, let name = path.first else {
            throw RESTRequestError(reason: "field '\(path.joined(separator: "."))' is inside a value that is not a message")
        }
        let jsonName = Self.jsonName(name)
        let index = members.firstIndex { $0.name == name || $0.name == jsonName }
        if path.count == 1 {
            var newValue = value
            if appending {
                if let index, case .array(let elements) = members[index].value {
                    newValue = .array(elements + [value])
                } else {
                    newValue = .array([value])
                }
            }
            members.removeAll { $0.name == name || $0.name == jsonName }
            members.append((name, newValue))
        } else {
            var child = index.map { members[$0].value } ?? .object([])
            if case .null = child { child = .object([]) }
            try set(&child, path: path.dropFirst(), to: value, appending: appending)
            if let index { members[index].value = child } else { members.append((name, child)) }
        }
        object = .object(members)
    }

    /// protoc's JSON name for a field: underscores dropped, the letter after each uppercased.
    static func jsonName(_ protoName: String) -> String {
        var result = ""
        var upperNext = false
        for character in protoName {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                result += character.uppercased()
                upperNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func serialize(_ value: JSONValue) -> [UInt8] {
        var encoder = ProtoJSONEncoder(options: JSONEncodingOptions())
        encoder.writeValue(value)
        return encoder.finish()
    }

    /// The response body: the whole response, or its `responseBody` field (null when the
    /// response leaves that field unset).
    static func responseBody(_ message: [UInt8], field: String) -> [UInt8] {
        guard !field.isEmpty, case .object(let members)? = try? JSONValue(parsing: message) else { return message }
        let jsonName = Self.jsonName(field)
        let value = members.last { $0.name == jsonName || $0.name == field }?.value ?? .null
        return serialize(value)
    }
}
