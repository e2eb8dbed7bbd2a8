/// A `google.api.http` path template, parsed: `/v1/{name=projects/*/locations/*}/items/**:cancel`.
///
/// The grammar, as `google/api/http.proto` gives it:
///
///     Template = "/" Segments [ Verb ] ;
///     Segments = Segment { "/" Segment } ;
///     Segment  = "*" | "**" | LITERAL | Variable ;
///     Variable = "{" FieldPath [ "=" Segments ] "}" ;
///     FieldPath = IDENT { "." IDENT } ;
///     Verb     = ":" LITERAL ;
///
/// `{x}` is `{x=*}`; `**` matches the rest of the path and must come last.
public struct PathTemplate: Sendable, Hashable, CustomStringConvertible {
    /// One segment of the template.
    public enum Segment: Sendable, Hashable {
        /// A literal path segment.
        case literal(String)
        /// `*`: any one segment.
        case any
        /// `**`: the rest of the path, zero or more segments.
        case rest
    }

    /// A variable: the field it binds, and the range of ``segments`` it spans.
    public struct Variable: Sendable, Hashable {
        /// The dotted proto field path, `sub.subfield`.
        public let fieldPath: [String]
        /// The first segment of the variable's pattern.
        public let start: Int
        /// One past its last segment.
        public let end: Int
    }

    /// The segments, variables flattened into them.
    public let segments: [Segment]
    /// The variables, in order.
    public let variables: [Variable]
    /// The custom verb after `:`, if any.
    public let verb: String?
    /// The template as written.
    public let description: String

    /// How many literal segments the template has: a more specific template wins when two
    /// match the same path.
    public var literalCount: Int { segments.count { if case .literal = $0 { true } else { false } } }

    /// Parses `template`.
    ///
    /// - Parameter template: The template as `google.api.http` gives it.
    /// - Throws: ``PathTemplateError`` saying where the template breaks the grammar.
    public init(_ template: String) throws(PathTemplateError) {
        var parser = Parser(text: Array(template.utf8), template: template)
        (segments, variables, verb) = try parser.parseTemplate()
        description = template
    }

    /// The variables' values if `path` (without its query) matches, else nil. Values are
    /// percent-decoded; a multi-segment variable keeps `%2F` encoded, as the spec says.
    ///
    /// - Parameter path: The request's path, such as `/v1/messages/123`.
    /// - Returns: Each variable's field path and value, in the template's order.
    public func match(_ path: String) -> [(fieldPath: [String], value: String)]? {
        guard path.hasPrefix("/") else { return nil }
        var rest = Substring(path.dropFirst())
        if let verb {
            guard rest.hasSuffix(":" + verb) else { return nil }
            rest = rest.dropLast(verb.utf8.count + 1)
        }
        let parts = rest.isEmpty ? [] : rest.split(separator: "/", omittingEmptySubsequences: false)
        // Where each template segment begins in `parts`; `**` takes what the others leave.
        var bounds: [Range<Int>] = []
        var index = 0
        for segment in segments {
            switch segment {
            case .literal(let literal):
                guard index < parts.count, PercentDecoding.decode(parts[index], keepSlash: false) == literal else { return nil }
                bounds.append(index..<index + 1)
                index += 1
            case .any:
                guard index < parts.count, !parts[index].isEmpty else { return nil }
                bounds.append(index..<index + 1)
                index += 1
            case .rest:
                bounds.append(index..<parts.count)
                index = parts.count
            }
        }
        guard index == parts.count else { return nil }
        var values: [(fieldPath: [String], value: String)] = []
        for variable in variables {
            let first = bounds[variable.start].lowerBound
            let last = variable.end > variable.start ? bounds[variable.end - 1].upperBound : first
            let multiSegment = segments[variable.start..<variable.end].contains(.rest) || variable.end - variable.start > 1
            let raw = parts[first..<last]
            let decoded = raw.map { PercentDecoding.decode($0, keepSlash: multiSegment) }
            guard decoded.allSatisfy({ $0 != nil }) else { return nil }
            values.append((variable.fieldPath, decoded.compactMap { $0 }.joined(separator: "/")))
        }
        return values
    }
}

/// A path template that breaks the grammar, and where.
public struct PathTemplateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The template.
    public let template: String
    /// The byte offset of the fault.
    public let offset: Int
    /// What is wrong.
    public let reason: String

    public var description: String { "path template '\(template)' at offset \(offset): \(reason)" }
}

extension PathTemplate {
    /// A recursive-descent parser over the template's bytes.
    fileprivate struct Parser {
        let text: [UInt8]
        let template: String
        var position = 0
        var segments: [Segment] = []
        var variables: [Variable] = []

        func fail(_ reason: String) -> PathTemplateError {
            PathTemplateError(template: template, offset: position, reason: reason)
        }

        var current: UInt8? { position < text.count ? text[position] : nil }

        mutating func parseTemplate() throws(PathTemplateError) -> ([Segment], [Variable], String?) {
            guard current == UInt8(ascii: "/") else { throw fail("a template starts with '/'") }
            position += 1
            try parseSegments(inVariable: false)
            var verb: String?
            if current == UInt8(ascii: ":") {
                position += 1
                let literal = parseLiteral()
                guard !literal.isEmpty else { throw fail("an empty verb") }
                verb = literal
            }
            guard position == text.count else { throw fail("unexpected '\(Character(UnicodeScalar(text[position])))'") }
            if let rest = segments.firstIndex(of: .rest), rest != segments.count - 1 {
                throw PathTemplateError(template: template, offset: 0, reason: "'**' must be the last segment")
            }
            return (segments, variables, verb)
        }

        mutating func parseSegments(inVariable: Bool) throws(PathTemplateError) {
            while true {
                try parseSegment(inVariable: inVariable)
                guard current == UInt8(ascii: "/") else { return }
                position += 1
            }
        }

        mutating func parseSegment(inVariable: Bool) throws(PathTemplateError) {
            switch current {
            case UInt8(ascii: "*"):
                position += 1
                if current == UInt8(ascii: "*") {
                    position += 1
                    segments.append(.rest)
                } else {
                    segments.append(.any)
                }
            case UInt8(ascii: "{"):
                guard !inVariable else { throw fail("variables do not nest") }
                position += 1
                let fieldPath = try parseFieldPath()
                let start = segments.count
                if current == UInt8(ascii: "=") {
                    position += 1
                    try parseSegments(inVariable: true)
                } else {
                    segments.append(.any)
                }
                guard current == UInt8(ascii: "}") else { throw fail("expected '}'") }
                position += 1
                variables.append(Variable(fieldPath: fieldPath, start: start, end: segments.count))
            default:
                let literal = parseLiteral()
                guard !literal.isEmpty else { throw fail("an empty segment") }
                segments.append(.literal(literal))
            }
        }

        /// A literal: anything up to a character with a meaning in the grammar.
        mutating func parseLiteral() -> String {
            let start = position
            while let byte = current, !"/{}=*:".utf8.contains(byte) { position += 1 }
            return String(decoding: text[start..<position], as: UTF8.self)
        }

        mutating func parseFieldPath() throws(PathTemplateError) -> [String] {
            var path: [String] = []
            while true {
                let start = position
                while let byte = current, byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                        || (position > start && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
                    position += 1
                }
                guard position > start else { throw fail("expected a field name") }
                path.append(String(decoding: text[start..<position], as: UTF8.self))
                guard current == UInt8(ascii: ".") else { return path }
                position += 1
            }
        }
    }
}

/// Percent-decoding of path segments and query strings.
enum PercentDecoding {
    /// `text` decoded; nil if an escape is malformed or the bytes are not UTF-8. With
    /// `keepSlash`, `%2F` stays encoded (a multi-segment variable's reserved expansion).
    static func decode(_ text: Substring, keepSlash: Bool, plusIsSpace: Bool = false) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && text.utf8.contains(UInt8(ascii: "+"))) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                let decoded = high << 4 | low
                if keepSlash && decoded == UInt8(ascii: "/") {
                    bytes += Array("%2F".utf8)
                } else {
                    bytes.append(decoded)
                }
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
