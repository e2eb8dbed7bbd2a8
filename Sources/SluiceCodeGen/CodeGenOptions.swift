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

    static let knownOptions = ["Visibility", "FileNaming", "ModuleMapping", "ProtoPathModuleMappings", "Client", "Server"]

    var visibility: Visibility = .internal
    var fileNaming: FileNaming = .fullPath
    var modules = ModuleMap()
    /// Whether to generate the client side of services (`ClientProtocol`, `Client`).
    var generateClient = true
    /// Whether to generate the server side of services (`ServiceProtocol`, its registration).
    var generateServer = true

    init() {}

    /// Parses protoc's parameter string. `readFile` reads the file a `ProtoPathModuleMappings`
    /// option names (the plugin reads it relative to protoc's working directory).
    init(parameter: String, readFile: (String) throws -> String = { path in throw CodeGenError.unreadableFile(path: path, reason: "no file access") }) throws {
        for pair in parameter.split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].trimmingSpaces()
            let value = parts.count > 1 ? parts[1].trimmingSpaces() : ""
            switch key {
            case "Visibility":
                visibility = try Self.choice(key, value, Visibility.self, [.internal, .public, .package])
            case "FileNaming":
                fileNaming = try Self.choice(key, value, FileNaming.self, [.fullPath, .pathToUnderscores, .dropPath])
            case "Client":
                generateClient = try Self.flag(key, value)
            case "Server":
                generateServer = try Self.flag(key, value)
            case "ModuleMapping":
                // ModuleMapping=path/to/file.proto=SwiftModule
                let mapping = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard mapping.count == 2, mapping[0].hasSuffix(".proto"), !mapping[1].isEmpty else {
                    throw CodeGenError.invalidOptionValue(option: key, value: value, valid: ["path/to/file.proto=SwiftModule"])
                }
                modules.explicit[mapping[0]] = mapping[1]
            case "ProtoPathModuleMappings":
                guard !value.isEmpty else {
                    throw CodeGenError.invalidOptionValue(option: key, value: value, valid: ["the path of a module mapping file"])
                }
                let text: String
                do {
                    text = try readFile(value)
                } catch let error as CodeGenError {
                    throw error
                } catch {
                    throw CodeGenError.unreadableFile(path: value, reason: "\(error)")
                }
                for (proto, module) in try ModuleMappingFile.parse(text, path: value) {
                    if let existing = modules.explicit[proto], existing != module {
                        throw CodeGenError.badMappingFile(
                            path: value, reason: "\(proto) is mapped to both \(existing) and \(module)")
                    }
                    modules.explicit[proto] = module
                }
            default:
                throw CodeGenError.unknownOption(key)
            }
        }
    }

    private static func choice<Value: RawRepresentable>(
        _ option: String, _ value: String, _ type: Value.Type, _ all: [Value]
    ) throws -> Value where Value.RawValue == String {
        guard let chosen = Value(rawValue: value) else {
            throw CodeGenError.invalidOptionValue(option: option, value: value, valid: all.map(\.rawValue))
        }
        return chosen
    }

    /// `true` or `false`, as grpc-swift's `Client=` and `Server=` take them (any case).
    private static func flag(_ option: String, _ value: String) throws -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw CodeGenError.invalidOptionValue(option: option, value: value, valid: ["true", "false"])
        }
    }

    /// Fails when two files of one run would get the same output file name: Swift cannot
    /// compile two files of one name in one module, and with `DropPath` one would overwrite
    /// the other.
    func checkOutputNames(_ protoPaths: [String]) throws {
        var byName: [String: String] = [:]
        for path in protoPaths {
            let output = outputPath(for: path)
            let fileName = output.split(separator: "/").last.map(String.init) ?? output
            if let other = byName[fileName] {
                throw CodeGenError.outputCollision(first: other, second: path, fileName: fileName, naming: fileNaming)
            }
            byName[fileName] = path
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
    /// plugin protos (and `google.api`'s HTTP annotations, which extend the descriptors) in
    /// SluiceDescriptors; any other file is assumed to be generated into the same module.
    func module(for protoPath: String) -> String? {
        if let module = explicit[protoPath] { return module }
        if protoPath == "google/protobuf/descriptor.proto" || protoPath.hasPrefix("google/protobuf/compiler/")
            || Self.httpAnnotationFiles.contains(protoPath) {
            return "SluiceDescriptors"
        }
        if Self.isRuntimeFile(protoPath) { return "SluiceProto" }
        return nil
    }

    /// The `google.api` files that declare the `google.api.http` method option.
    static let httpAnnotationFiles: Set<String> = ["google/api/http.proto", "google/api/annotations.proto"]

    /// The `google.rpc` files SluiceProto holds: the status that carries rich error details
    /// (`grpc-status-details-bin`) and the standard detail messages.
    static let runtimeRPCFiles: Set<String> = ["google/rpc/status.proto", "google/rpc/error_details.proto"]

    /// Whether `protoPath` is one of the files that SluiceProto itself holds: the well-known
    /// types and the `google.rpc` status types.
    static func isRuntimeFile(_ protoPath: String) -> Bool {
        runtimeRPCFiles.contains(protoPath) || wellKnownTypeFiles.contains(protoPath)
    }

    /// The well-known types, which SluiceProto holds. Exactly these: a user's own file under
    /// `google/protobuf/` (protobuf's test protos, say) is the user's.
    static let wellKnownTypeFiles: Set<String> = [
        "google/protobuf/any.proto", "google/protobuf/api.proto", "google/protobuf/duration.proto",
        "google/protobuf/empty.proto", "google/protobuf/field_mask.proto", "google/protobuf/source_context.proto",
        "google/protobuf/struct.proto", "google/protobuf/timestamp.proto", "google/protobuf/type.proto",
        "google/protobuf/wrappers.proto",
    ]
}

extension String {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    func replacingSlashes(with replacement: Character) -> String {
        String(map { $0 == "/" ? replacement : $0 })
    }
}
