/// Options from `--swift-grpc_opt=Key=Value,Key=Value`, named as swift-protobuf names them.
struct CodeGenOptions: Equatable {
    /// Access level of generated declarations.
    enum Visibility: String, Equatable {
        case `internal` = "Internal"
        case `public` = "Public"
        case `package` = "Package"

        var keyword: String {
            switch self {
            case .internal: return "internal"
            case .public: return "public"
            case .package: return "package"
            }
        }
    }

    /// How output file names derive from `.proto` paths.
    enum FileNaming: String, Equatable {
        /// `a/b/c.proto` -> `a/b/c.pb.swift`
        case fullPath = "FullPath"
        /// `a/b/c.proto` -> `a_b_c.pb.swift`
        case pathToUnderscores = "PathToUnderscores"
        /// `a/b/c.proto` -> `c.pb.swift`
        case dropPath = "DropPath"
    }

    static let knownOptions = ["Visibility", "FileNaming", "ModuleMapping"]

    var visibility: Visibility = .internal
    var fileNaming: FileNaming = .fullPath
    var modules = ModuleMap()

    init() {}

    /// Parses protoc's parameter string.
    init(parameter: String) throws {
        for pair in parameter.split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].trimmingSpaces()
            let value = parts.count > 1 ? parts[1].trimmingSpaces() : ""
            switch key {
            case "Visibility":
                guard let v = Visibility(rawValue: value) else {
                    throw CodeGenError.invalidOptionValue(option: key, value: value)
                }
                visibility = v
            case "FileNaming":
                guard let v = FileNaming(rawValue: value) else {
                    throw CodeGenError.invalidOptionValue(option: key, value: value)
                }
                fileNaming = v
            case "ModuleMapping":
                // ModuleMapping=path/to/file.proto=SwiftModule
                let mapping = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard mapping.count == 2, mapping[0].hasSuffix(".proto"), !mapping[1].isEmpty else {
                    throw CodeGenError.invalidOptionValue(option: key, value: value)
                }
                modules.explicit[mapping[0]] = mapping[1]
            default:
                throw CodeGenError.unknownOption(key)
            }
        }
    }

    /// The output path for a `.proto` file.
    func outputPath(for protoPath: String) -> String {
        let base = protoPath.hasSuffix(".proto") ? String(protoPath.dropLast(6)) : protoPath
        switch fileNaming {
        case .fullPath: return base + ".pb.swift"
        case .pathToUnderscores: return base.replacingSlashes(with: "_") + ".pb.swift"
        case .dropPath: return (base.split(separator: "/").last.map(String.init) ?? base) + ".pb.swift"
        }
    }
}

/// Which Swift module holds the types of a `.proto` file that is not being generated now.
struct ModuleMap: Equatable {
    /// Mappings given with `ModuleMapping=`.
    var explicit: [String: String] = [:]

    /// Well-known types and `google.rpc` status types live in SluiceProto, descriptor and
    /// plugin protos in SluiceDescriptors; any other file is assumed to be generated into the
    /// same module.
    func module(for protoPath: String) -> String? {
        if let module = explicit[protoPath] { return module }
        if protoPath == "google/protobuf/descriptor.proto" || protoPath.hasPrefix("google/protobuf/compiler/") {
            return "SluiceDescriptors"
        }
        if Self.isRuntimeFile(protoPath) { return "SluiceProto" }
        return nil
    }

    /// The `google.rpc` files SluiceProto holds: the status that carries rich error details
    /// (`grpc-status-details-bin`) and the standard detail messages.
    static let runtimeRPCFiles: Set<String> = ["google/rpc/status.proto", "google/rpc/error_details.proto"]

    /// Whether `protoPath` is one of the files that SluiceProto itself holds: the well-known
    /// types and the `google.rpc` status types.
    static func isRuntimeFile(_ protoPath: String) -> Bool {
        if runtimeRPCFiles.contains(protoPath) { return true }
        return protoPath.hasPrefix("google/protobuf/") && protoPath != "google/protobuf/descriptor.proto"
            && !protoPath.hasPrefix("google/protobuf/compiler/")
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    func replacingSlashes(with replacement: Character) -> String {
        String(map { $0 == "/" ? replacement : $0 })
    }
}
