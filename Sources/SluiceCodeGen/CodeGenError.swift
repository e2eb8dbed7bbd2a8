/// Why generation failed. protoc prints the description and exits non-zero.
enum CodeGenError: Error, CustomStringConvertible, Equatable {
    case unknownOption(String)
    case invalidOptionValue(option: String, value: String, valid: [String])
    case unreadableFile(path: String, reason: String)
    case badMappingFile(path: String, reason: String)
    case outputCollision(first: String, second: String, fileName: String, naming: CodeGenOptions.FileNaming)
    case unsupported(String)
    case unresolvedType(String)
    case template(String)
    /// A `.proto` file's option that breaks its own rules, such as a malformed `google.api.http`.
    case invalidOption(String)

    var description: String {
        switch self {
        case .unknownOption(let name):
            return "unknown option '\(name)' (known: \(CodeGenOptions.knownOptions.joined(separator: ", ")))"
        case .invalidOptionValue(let option, let value, let valid):
            return "invalid value '\(value)' for option '\(option)' (valid: \(valid.joined(separator: ", ")))"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .badMappingFile(let path, let reason):
            return "\(path): \(reason)"
        case .outputCollision(let first, let second, let fileName, let naming):
            let fix = naming == .pathToUnderscores
                ? "rename one of them"
                : "pass FileNaming=PathToUnderscores, or generate them into different modules in separate runs"
            return "\(first) and \(second) would both generate \(fileName) with FileNaming=\(naming.rawValue), "
                + "and Swift cannot compile two files of one name in one module: \(fix)"
        case .unsupported(let what):
            return "unsupported: \(what)"
        case .unresolvedType(let name):
            return "type \(name) is not defined in any file protoc passed"
        case .template(let what):
            return "template error: \(what)"
        case .invalidOption(let what):
            return what
        }
    }
}
