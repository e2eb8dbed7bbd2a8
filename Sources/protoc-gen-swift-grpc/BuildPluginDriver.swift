// What the SwiftPM build plugin runs at build time: reads sluice-protoc.json, then replaces
// itself with protoc, pointed back at this binary as its plugin. Reading the configuration
// here rather than while SwiftPM plans the build means an edit to it takes effect at the next
// build (SwiftPM reruns the command because the file is one of its inputs) instead of waiting
// for Package.swift to change.
import Foundation

enum BuildPluginDriver {
    /// The flag that selects this mode; protoc runs the binary without arguments.
    static let flag = "--sluice-build-plugin"

    /// A problem the user fixes; printed once, naming the file.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What the plugin planned: where things are.
    struct Plan {
        var config: String = ""
        var root: String = ""
        var output: String = ""
        var protocFromEnvironment: String?
        var protocOnPath: String?
        /// Sluice's own Protos/ folder (google/api/annotations.proto, google/rpc/status.proto,
        /// ...), searched after the target's folder and its import paths.
        var sluiceProtos: String?
        var files: [String] = []

        init(arguments: [String]) throws {
            var rest = arguments[...]
            while let argument = rest.popFirst() {
                if argument == "--" {
                    files = Array(rest)
                    break
                }
                guard let value = rest.popFirst() else { throw Failure(description: "\(argument) needs a value") }
                switch argument {
                case "--config": config = value
                case "--root": root = value
                case "--output": output = value
                case "--protoc-from-environment": protocFromEnvironment = value
                case "--protoc-on-path": protocOnPath = value
                case "--sluice-protos": sluiceProtos = value
                default: throw Failure(description: "unknown argument \(argument)")
                }
            }
        }
    }

    /// sluice-protoc.json.
    struct Configuration {
        static let keys = ["protocPath", "options", "importPaths"]
        var protocPath: String?
        var options: [String] = []
        var importPaths: [String] = []

        /// Parses the file, naming it and the offending key in every error.
        init(contentsOf path: String) throws {
            guard FileManager.default.fileExists(atPath: path) else { return }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: data)
            } catch {
                let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
                throw Failure(description: "\(path): not valid JSON: \(reason)")
            }
            guard let fields = object as? [String: Any] else {
                throw Failure(description: "\(path): expected a JSON object with \(Self.keys.joined(separator: ", "))")
            }
            for key in fields.keys.sorted() where !Self.keys.contains(key) {
                throw Failure(description: "\(path): unknown key '\(key)' (known: \(Self.keys.joined(separator: ", ")))")
            }
            if let value = fields["protocPath"] {
                guard let path = value as? String else { throw Failure(description: "\(path): 'protocPath' must be a string") }
                protocPath = path
            }
            options = try Self.strings(fields, "options", in: path)
            importPaths = try Self.strings(fields, "importPaths", in: path)
            if let naming = options.first(where: { $0.hasPrefix("FileNaming=") }) {
                throw Failure(description: "\(path): '\(naming)' in 'options': the build plugin names generated files itself "
                    + "(by their path, with underscores, so that no two collide); remove it")
            }
        }

        private static func strings(_ fields: [String: Any], _ key: String, in path: String) throws -> [String] {
            guard let value = fields[key] else { return [] }
            guard let strings = value as? [String] else {
                throw Failure(description: "\(path): '\(key)' must be an array of strings")
            }
            return strings
        }
    }

    /// Runs protoc in place of this process; returns only on failure.
    static func run(arguments: [String], pluginPath: String) -> Never {
        do {
            let plan = try Plan(arguments: arguments)
            let configuration = try Configuration(contentsOf: plan.config)
            let protoc = try protocPath(plan, configuration)
            var protocArguments = [
                protoc,
                "--plugin=protoc-gen-swift-grpc=\(pluginPath)",
                "--swift-grpc_out=\(plan.output)",
                "--proto_path=\(plan.root)",
            ]
            for path in configuration.importPaths {
                let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: plan.root).appending(path: path)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw Failure(description: "\(plan.config): import path '\(path)' does not exist (\(url.standardizedFileURL.path))")
                }
                protocArguments.append("--proto_path=\(url.standardizedFileURL.path)")
            }
            if let sluiceProtos = plan.sluiceProtos, FileManager.default.fileExists(atPath: sluiceProtos) {
                protocArguments.append("--proto_path=\(sluiceProtos)")
            }
            // The well-known types ship beside protoc: /usr/bin/protoc with /usr/include on
            // Debian, bin/protoc with include/ in protoc's release archives.
            let include = URL(fileURLWithPath: protoc).deletingLastPathComponent().deletingLastPathComponent().appending(path: "include")
            if FileManager.default.fileExists(atPath: include.appending(path: "google/protobuf/timestamp.proto").path) {
                protocArguments.append("--proto_path=\(include.path)")
            }
            let options = configuration.options + ["FileNaming=PathToUnderscores"]
            protocArguments.append("--swift-grpc_opt=\(options.joined(separator: ","))")
            protocArguments += plan.files
            try FileManager.default.createDirectory(atPath: plan.output, withIntermediateDirectories: true)
            let argv = protocArguments.map { strdup($0) } + [nil]
            execv(protoc, argv)
            throw Failure(description: "could not run \(protoc): \(String(cString: strerror(errno)))")
        } catch {
            FileHandle.standardError.write(Data("error: SluiceProtoGenerator: \(error)\n".utf8))
            exit(1)
        }
    }

    /// PROTOC_PATH, else `protocPath` from the configuration, else protoc on PATH.
    private static func protocPath(_ plan: Plan, _ configuration: Configuration) throws -> String {
        if let path = plan.protocFromEnvironment ?? configuration.protocPath ?? plan.protocOnPath {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw Failure(description: "protoc at \(path) is not an executable file")
            }
            return path
        }
        throw Failure(description: "protoc not found: install protobuf-compiler, set PROTOC_PATH, or set protocPath in \(plan.config)")
    }
}
