/// Why generation failed. protoc prints the description and exits non-zero.
enum CodeGenError: Error, CustomStringConvertible, Equatable {
    case unknownOption(String)
    case invalidOptionValue(option: String, value: String)
    case unsupported(String)
    case unresolvedType(String)
    case template(String)

    var description: String {
        switch self {
        case .unknownOption(let name):
            return "unknown option '\(name)' (known: \(CodeGenOptions.knownOptions.joined(separator: ", ")))"
        case .invalidOptionValue(let option, let value):
            return "invalid value '\(value)' for option '\(option)'"
        case .unsupported(let what):
            return "unsupported: \(what)"
        case .unresolvedType(let name):
            return "type \(name) is not defined in any file protoc passed"
        case .template(let what):
            return "template error: \(what)"
        }
    }
}
