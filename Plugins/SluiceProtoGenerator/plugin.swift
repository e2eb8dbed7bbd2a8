import Foundation
import PackagePlugin

/// Generates Swift from the `.proto` files of a target at build time.
///
/// Add `plugins: [.plugin(name: "SluiceProtoGenerator", package: "sluice")]` to a target and
/// put its `.proto` files in its folder. `sluice-protoc.json` beside them may give `options`
/// (passed as `--swift-grpc_opt`), `importPaths` (relative to the target or absolute) and
/// `protocPath`; protoc is taken from `PROTOC_PATH`, else from `protocPath`, else from PATH,
/// and the well-known types are found beside it.
///
/// The configuration is read when the build runs, not here while SwiftPM plans it, so an edit
/// to it takes effect at the next build: planning only lists the inputs and outputs, and the
/// command (protoc-gen-swift-grpc in its build-plugin mode) reads the file and runs protoc.
@main
struct SluiceProtoGenerator: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let protos = target.sourceFiles(withSuffix: ".proto").map(\.url)
            .sorted { $0.path < $1.path }
        guard !protos.isEmpty else { return [] }

        let root = target.directoryURL
        let configURL = root.appending(path: "sluice-protoc.json")
        let plugin = try context.tool(named: "protoc-gen-swift-grpc").url
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedSources")
        let relative = protos.map { String($0.path.dropFirst(root.path.count + 1)) }

        // Output names are the proto paths with underscores (FileNaming=PathToUnderscores, which
        // the command passes): two protos of one file name in different folders do not collide
        // in the module, as they would by file name alone.
        var outputs: [URL] = []
        var sourceOf: [String: String] = [:]
        for path in relative {
            let name = String(path.dropLast(".proto".count)).replacingOccurrences(of: "/", with: "_") + ".pb.swift"
            if let other = sourceOf[name] {
                throw PluginError.collision(first: other, second: path, output: name, target: target.name)
            }
            sourceOf[name] = path
            outputs.append(output.appending(path: name))
        }

        var arguments = ["--sluice-build-plugin", "--config", configURL.path, "--root", root.path, "--output", output.path]
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PROTOC_PATH"] {
            arguments += ["--protoc-from-environment", path]
        } else if let path = protocOnPath(environment) {
            arguments += ["--protoc-on-path", path]
        }
        // Sluice's Protos/ (google/api/annotations.proto for google.api.http, google/rpc/...),
        // found beside this plugin's source in Sluice's checkout, so that a target's protos
        // import them without an importPaths entry.
        let sluiceProtos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "Protos")
        if FileManager.default.fileExists(atPath: sluiceProtos.appending(path: "google/api/annotations.proto").path) {
            arguments += ["--sluice-protos", sluiceProtos.path]
        }
        arguments.append("--")
        arguments += relative

        var inputs = protos + [plugin]
        if FileManager.default.fileExists(atPath: configURL.path) { inputs.append(configURL) }
        return [
            .buildCommand(
                displayName: "Generating Swift from \(protos.count) .proto files in \(target.name)",
                executable: plugin,
                arguments: arguments,
                inputFiles: inputs,
                outputFiles: outputs)
        ]
    }

    private func protocOnPath(_ environment: [String: String]) -> String? {
        for directory in (environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appending(path: "protoc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        }
        return nil
    }

    enum PluginError: Error, CustomStringConvertible {
        case collision(first: String, second: String, output: String, target: String)

        var description: String {
            switch self {
            case .collision(let first, let second, let output, let target):
                return "\(first) and \(second) in target \(target) would both generate \(output): rename one"
            }
        }
    }
}
