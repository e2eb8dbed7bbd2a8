import SluiceDescriptors

/// Turns protobuf names into Swift names by swift-protobuf's conventions, so that code
/// written against swift-protobuf reads the same here: `foo.bar_baz.Msg` becomes
/// `Foo_BarBaz_Msg`, `user_id` becomes `userID`, `COLOR_RED` in `enum Color` becomes `.red`.
enum SwiftNaming {
    /// Words that are keywords somewhere in Swift; identifiers equal to one get backticks.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
        "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
        "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
        "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough",
        "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while",
        "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
        "package", "some", "any", "async",
    ]

    /// Field names that would shadow members every message has; they get `_p` appended.
    static let reservedFieldNames: Set<String> = [
        "isInitialized", "unknownFields", "debugDescription", "description", "dynamicType",
        "hashValue", "init", "self", "Type", "Protocol", "protoMessageName", "serializedSize",
        "Int", "Int32", "Int64", "UInt32", "UInt64", "Bool", "Float", "Double", "String", "Data",
        "Array", "Dictionary", "Optional", "Character", "Error",
    ]

    /// Enum case names that cannot be used even in backticks; they get `_` appended.
    static let reservedEnumCases: Set<String> = [
        "allCases", "debugDescription", "description", "dynamicType", "hashValue", "init", "rawValue", "self",
    ]

    /// Nested type names that clash with Swift's own; `Message`, `Enum` or `Oneof` is appended
    /// (`FieldDescriptorProto.Type` becomes `TypeEnum`).
    static let reservedTypeNames: Set<String> = [
        "Type", "Protocol", "Any", "Self", "Int", "Int32", "Int64", "UInt32", "UInt64", "Bool",
        "Float", "Double", "String", "Data", "Array", "Dictionary", "Optional", "Equatable",
        "Hashable", "Sendable", "Error", "Character", "Extensions",
    ]

    /// Segments kept all-uppercase when they are not the first segment of a lowerCamel name.
    static let abbreviations: Set<String> = ["url", "http", "https", "id"]

    private enum CharClass {
        case digit, lower, upper, underscore, other

        init(_ c: Unicode.Scalar) {
            switch c {
            case "0"..."9": self = .digit
            case "a"..."z": self = .lower
            case "A"..."Z": self = .upper
            case "_": self = .underscore
            default: self = .other
            }
        }
    }

    /// Splits at underscores, case changes and digit runs, then joins the segments capitalised.
    static func camelCase(_ s: String, initialUpper: Bool) -> String {
        var result = ""
        var current = ""
        var last = CharClass.other
        var first = true
        func flush() {
            guard !current.isEmpty else { return }
            if result.isEmpty && !initialUpper {
                result += current
            } else if abbreviations.contains(current) {
                result += current.uppercased()
            } else {
                result += current.prefix(1).uppercased() + current.dropFirst()
            }
            current = ""
        }
        for scalar in s.unicodeScalars {
            let cls = CharClass(scalar)
            switch cls {
            case .digit:
                if last != .digit { flush() }
                if result.isEmpty && current.isEmpty { result += "_" }
                current.unicodeScalars.append(scalar)
            case .upper:
                if last != .upper { flush() }
                current += String(scalar).lowercased()
            case .lower:
                if last != .lower && last != .upper { flush() }
                current.unicodeScalars.append(scalar)
            case .underscore:
                flush()
                if last == .underscore && !first { result += "_" }
            case .other:
                flush()
                current.unicodeScalars.append(scalar)
            }
            last = cls
            first = false
        }
        flush()
        if last == .underscore { result += "_" }
        return result
    }

    static func upperCamel(_ s: String) -> String { camelCase(s, initialUpper: true) }

    /// The enum that holds a file's embedded descriptor: `shop/catalog.proto` becomes
    /// `ProtoFile_shop_catalog_proto` (every character but ASCII letters and digits becomes
    /// `_`), unique in a module as long as no two of its paths differ only there.
    static func protoFileHolderName(_ path: String) -> String {
        let characters = path.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9": return Character(scalar)
            default: return "_"
            }
        }
        return "ProtoFile_" + String(characters)
    }
    static func lowerCamel(_ s: String) -> String { camelCase(s, initialUpper: false) }

    /// Backticks for keywords.
    static func escaped(_ identifier: String) -> String {
        keywords.contains(identifier) ? "`\(identifier)`" : identifier
    }

    /// The Swift property name of a field: lowerCamel, `_p` on clashes, backticks on keywords.
    static func fieldName(_ protoName: String) -> String {
        let name = lowerCamel(protoName)
        if reservedFieldNames.contains(name) { return name + "_p" }
        if (name.hasPrefix("has") || name.hasPrefix("clear")), isUpper(name, at: name.hasPrefix("has") ? 3 : 5) {
            return name + "_p"
        }
        return escaped(name)
    }

    private static func isUpper(_ s: String, at offset: Int) -> Bool {
        let scalars = Array(s.unicodeScalars)
        return offset < scalars.count && CharClass(scalars[offset]) == .upper
    }

    /// A oneof enum case name for a member field.
    static func oneofCaseName(_ protoName: String) -> String {
        let name = lowerCamel(protoName)
        if reservedEnumCases.contains(name) { return name + "_" }
        return escaped(name)
    }

    /// The `hasX` / `clearX` suffix for a field: UpperCamel of its proto name.
    static func memberSuffix(_ protoName: String) -> String {
        upperCamel(protoName)
    }

    /// The prefix of a file's top-level types: `swift_prefix` if set, else the package in
    /// UpperCamel with `_` between components and after the last.
    static func typePrefix(package: String, swiftPrefix: String?) -> String {
        if let swiftPrefix { return swiftPrefix }
        if package.isEmpty { return "" }
        return package.split(separator: ".").map { upperCamel(String($0)) }.joined(separator: "_") + "_"
    }

    /// A nested type's Swift name, with a disambiguator on clashes with Swift's names.
    static func nestedTypeName(_ protoName: String, disambiguator: String) -> String {
        reservedTypeNames.contains(protoName) ? protoName + disambiguator : protoName
    }

    /// An enum case name: the enum's name stripped as a prefix (ignoring case and underscores)
    /// when a lowercase letter follows, then lowerCamel.
    static func enumCaseName(_ valueName: String, enumName: String) -> String {
        let stripped = stripPrefix(enumName, from: valueName) ?? valueName
        let name = lowerCamel(stripped)
        if reservedEnumCases.contains(name) { return name + "_" }
        return escaped(name)
    }

    /// The Swift name of the enum value named `valueName` (a field's default), as
    /// ``enumCaseNames(_:enumName:)`` names it.
    static func enumCaseName(ofValue valueName: String, in e: Google_Protobuf_EnumDescriptorProto) -> String {
        let names = enumCaseNames(e.value.map { ($0.name, $0.number) }, enumName: e.name)
        return e.value.firstIndex { $0.name == valueName }.map { names[$0] } ?? enumCaseName(valueName, enumName: e.name)
    }

    /// The Swift name of each value of an enum, in declaration order, unique within the enum.
    ///
    /// Values can differ only in case or underscores (`MOO = 2; moo = 2;` with `allow_alias`,
    /// or `FOO_BAR` and `FooBar`) and yet camel-case to one name. A later value whose name is
    /// taken by a value of the same number is the same thing under the same name, so it gets
    /// that name (and the caller emits nothing for it); one of another number gets its number
    /// appended (`fooBar_2`).
    static func enumCaseNames(_ values: [(name: String, number: Int32)], enumName: String) -> [String] {
        var numberOfName: [String: Int32] = [:]
        var result: [String] = []
        for value in values {
            var name = enumCaseName(value.name, enumName: enumName)
            if let taken = numberOfName[name], taken != value.number {
                let base = name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
                name = base + "_\(value.number < 0 ? "minus\(-Int(value.number))" : "\(value.number)")"
                var suffix = 2
                let unique = name
                while let other = numberOfName[name], other != value.number {
                    name = unique + "_\(suffix)"
                    suffix += 1
                }
            }
            numberOfName[name] = value.number
            result.append(name)
        }
        return result
    }

    private static func stripPrefix(_ prefix: String, from value: String) -> String? {
        let wanted = Array(prefix.lowercased().unicodeScalars.filter { $0 != "_" })
        let chars = Array(value.lowercased().unicodeScalars)
        var i = 0
        var j = 0
        while j < wanted.count {
            guard i < chars.count else { return nil }
            if chars[i] == "_" { i += 1; continue }
            guard chars[i] == wanted[j] else { return nil }
            i += 1
            j += 1
        }
        while i < chars.count && chars[i] == "_" { i += 1 }
        guard i < chars.count, CharClass(chars[i]) == .lower else { return nil }
        return String(String.UnicodeScalarView(value.unicodeScalars.dropFirst(i)))
    }
}
