/// `google.protobuf.FieldMask` in JSON: the paths in lowerCamelCase joined by commas,
/// `"user.displayName,photo"`.
extension Google_Protobuf_FieldMask: JSONMessage {
    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        var converted: [String] = []
        for (index, path) in paths.enumerated() {
            guard let camel = Self.lowerCamel(path) else {
                throw JSONEncodingError("path \"\(path)\" has no JSON form: paths are lower_snake_case, with no upper-case letter and every '_' before a lower-case letter", path: "$.paths[\(index)]")
            }
            converted.append(camel)
        }
        encoder.writeString(converted.joined(separator: ","))
    }

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        let text = try decoder.readString(expected: "a field mask string like \"a.b,cD\"")
        guard !text.isEmpty else { return }
        for path in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let snake = Self.snakeCase(path) else {
                throw JSONDecodingError(.invalidValue("field mask path \"\(path)\" is not lowerCamelCase (it may not contain '_')"))
            }
            paths.append(snake)
        }
    }

    /// `foo_bar.baz` as `fooBar.baz`, or nil when the way back would give another path.
    private static func lowerCamel(_ path: String) -> String? {
        var result = ""
        var afterUnderscore = false
        for scalar in path.unicodeScalars {
            if scalar == "_" {
                guard !afterUnderscore else { return nil }
                afterUnderscore = true
                continue
            }
            if scalar.properties.isUppercase { return nil }
            if afterUnderscore {
                guard scalar.properties.isLowercase else { return nil }
                result += String(scalar).uppercased()
                afterUnderscore = false
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return afterUnderscore ? nil : result
    }

    /// `fooBar.baz` as `foo_bar.baz`, or nil for a path with `_`.
    private static func snakeCase(_ path: Substring) -> String? {
        var result = ""
        for scalar in path.unicodeScalars {
            if scalar == "_" { return nil }
            if scalar.properties.isUppercase {
                result += "_" + String(scalar).lowercased()
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
