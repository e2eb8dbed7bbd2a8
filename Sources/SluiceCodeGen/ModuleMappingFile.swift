/// Reads a module mapping file in swift-protobuf's format (`ProtoPathModuleMappings=path`):
/// protobuf text format of `swift_protobuf.gen_swift.ModuleMappings`, one `mapping` per Swift
/// module, naming the `.proto` files whose types that module holds.
///
///     # Types from googleapis live in the GoogleAPIs target.
///     mapping {
///       module_name: "GoogleAPIs"
///       proto_file_path: "google/api/annotations.proto"
///       proto_file_path: "google/api/http.proto"
///     }
///
/// The text format's variants are accepted: `mapping: { }` or `mapping < >`, fields separated
/// by nothing, `,` or `;`, single or double quotes, adjacent strings joined, and lists
/// (`proto_file_path: ["a.proto", "b.proto"]`). Errors name the file and line.
enum ModuleMappingFile {
    /// The mappings, `.proto` path to module name, in file order.
    static func parse(_ text: String, path: String) throws -> [(proto: String, module: String)] {
        var parser = Parser(tokens: try Tokenizer.tokens(of: text, path: path), path: path)
        return try parser.mappings()
    }

    enum Token: Equatable {
        case identifier(String)
        case string(String)
        case symbol(Character)
    }

    struct Located {
        let token: Token
        let line: Int
    }

    enum Tokenizer {
        static func tokens(of text: String, path: String) throws -> [Located] {
            var result: [Located] = []
            var line = 1
            var characters = Array(text)[...]
            while let c = characters.first {
                if c == "\n" { line += 1; characters.removeFirst(); continue }
                if c == " " || c == "\t" || c == "\r" { characters.removeFirst(); continue }
                if c == "#" {
                    while let next = characters.first, next != "\n" { characters.removeFirst() }
                    continue
                }
                if "{}<>:[],;".contains(c) {
                    result.append(Located(token: .symbol(c), line: line))
                    characters.removeFirst()
                    continue
                }
                if c == "\"" || c == "'" {
                    characters.removeFirst()
                    var value = ""
                    var closed = false
                    while let next = characters.popFirst() {
                        if next == c { closed = true; break }
                        if next == "\n" { break }
                        if next == "\\", let escaped = characters.popFirst() {
                            switch escaped {
                            case "n": value.append("\n")
                            case "t": value.append("\t")
                            default: value.append(escaped)
                            }
                            continue
                        }
                        value.append(next)
                    }
                    guard closed else { throw CodeGenError.badMappingFile(path: path, reason: "line \(line): unterminated string") }
                    // Adjacent strings are one value, as in the text format.
                    if case .string(let previous)? = result.last?.token {
                        result[result.count - 1] = Located(token: .string(previous + value), line: line)
                    } else {
                        result.append(Located(token: .string(value), line: line))
                    }
                    continue
                }
                if c.isLetter || c == "_" {
                    var name = ""
                    while let next = characters.first, next.isLetter || next.isNumber || next == "_" {
                        name.append(next)
                        characters.removeFirst()
                    }
                    result.append(Located(token: .identifier(name), line: line))
                    continue
                }
                throw CodeGenError.badMappingFile(path: path, reason: "line \(line): unexpected '\(c)'")
            }
            return result
        }
    }

    struct Parser {
        var tokens: [Located]
        let path: String
        var index = 0

        init(tokens: [Located], path: String) {
            self.tokens = tokens
            self.path = path
        }

        mutating func mappings() throws -> [(proto: String, module: String)] {
            var result: [(proto: String, module: String)] = []
            while index < tokens.count {
                let (name, line) = try identifier()
                guard name == "mapping" else { throw error(line, "unknown field '\(name)' (expected 'mapping')") }
                _ = accept(":")
                let close: Character = try open()
                var module: String?
                var protos: [String] = []
                while !accept(close) {
                    if index >= tokens.count { throw error(self.line, "expected '\(close)' before the end of the file") }
                    let (field, fieldLine) = try identifier()
                    switch field {
                    case "module_name":
                        try expect(":")
                        module = try string()
                    case "proto_file_path":
                        try expect(":")
                        if accept("[") {
                            if !accept("]") {
                                repeat { protos.append(try string()) } while accept(",")
                                try expect("]")
                            }
                        } else {
                            protos.append(try string())
                        }
                    default:
                        throw error(fieldLine, "unknown field '\(field)' in mapping (expected module_name or proto_file_path)")
                    }
                    _ = accept(",") || accept(";")
                }
                guard let module, !module.isEmpty else { throw error(line, "mapping without a module_name") }
                for proto in protos { result.append((proto, module)) }
                _ = accept(",") || accept(";")
            }
            return result
        }

        private var line: Int { index < tokens.count ? tokens[index].line : (tokens.last?.line ?? 1) }

        private func error(_ line: Int, _ reason: String) -> CodeGenError {
            .badMappingFile(path: path, reason: "line \(line): \(reason)")
        }

        private mutating func identifier() throws -> (String, Int) {
            guard index < tokens.count, case .identifier(let name) = tokens[index].token else {
                throw error(line, "expected a field name")
            }
            defer { index += 1 }
            return (name, tokens[index].line)
        }

        private mutating func string() throws -> String {
            guard index < tokens.count, case .string(let value) = tokens[index].token else {
                throw error(line, "expected a quoted string")
            }
            index += 1
            return value
        }

        private mutating func open() throws -> Character {
            if accept("{") { return "}" }
            if accept("<") { return ">" }
            throw error(line, "expected '{' after mapping")
        }

        private mutating func accept(_ symbol: Character) -> Bool {
            guard index < tokens.count, tokens[index].token == .symbol(symbol) else { return false }
            index += 1
            return true
        }

        private mutating func expect(_ symbol: Character) throws {
            guard accept(symbol) else {
                if index >= tokens.count { throw error(line, "expected '\(symbol)' before the end of the file") }
                throw error(line, "expected '\(symbol)'")
            }
        }
    }
}
