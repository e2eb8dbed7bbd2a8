import Foundation
import PackagePlugin

/// Generates Swift from the `.proto` files of a target at build time.
///
/// Add `plugins: [.plugin(name: "SluiceProtoGenerator", package: "sluice")]` to a target and
/// put its `.proto` files in its folder. protoc is taken from `PROTOC_PATH`, else from the
/// `protocPath` of `sluice-protoc.json`, else from PATH. `sluice-protoc.json` beside the protos
/// may also give `options` (passed as `--swift-grpc_opt`) and `importPaths` (relative to the
/// target or absolute). The well-known types are found beside protoc.
@main
struct SluiceProtoGenerator: BuildToolPlugin {
    struct Configuration: Decodable {
        var protocPath: String?
        var options: [String]?
        var importPaths: [String]?
    }

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let protos = target.sourceFiles(withSuffix: ".proto").map(\.url)
            .sorted { $0.path < $1.path }
        guard !protos.isEmpty else { return [] }

        let root = target.directoryURL
        let configURL = root.appending(path: "sluice-protoc.json")
        var config = Configuration()
        if FileManager.default.fileExists(atPath: configURL.path) {
            config = try JSONDecoder().decode(Configuration.self, from: Data(contentsOf: configURL))
        }
        let protoc = try protocURL(config)
        let plugin = try context.tool(named: "protoc-gen-swift-grpc").url
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedSources")

        var arguments = [
            "--plugin=protoc-gen-swift-grpc=\(plugin.path)",
            "--swift-grpc_out=\(output.path)",
            "--proto_path=\(root.path)",
        ]
        for path in config.importPaths ?? [] {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appending(path: path)
            arguments.append("--proto_path=\(url.standardizedFileURL.path)")
        }
        // The well-known types ship beside protoc: /usr/bin/protoc with /usr/include on Debian,
        // bin/protoc with include/ in protoc's release archives.
        let wellKnown = protoc.deletingLastPathComponent().deletingLastPathComponent().appending(path: "include")
        if FileManager.default.fileExists(atPath: wellKnown.appending(path: "google/protobuf/timestamp.proto").path) {
            arguments.append("--proto_path=\(wellKnown.path)")
        }
        if let options = config.options, !options.isEmpty {
            arguments.append("--swift-grpc_opt=\(options.joined(separator: ","))")
        }
        let relative = protos.map { String($0.path.dropFirst(root.path.count + 1)) }
        arguments += relative
        let outputs = relative.map { output.appending(path: String($0.dropLast(6)) + ".pb.swift") }
        var inputs = protos
        if FileManager.default.fileExists(atPath: configURL.path) { inputs.append(configURL) }
        return [
            .buildCommand(
                displayName: "Generating Swift from \(protos.count) .proto files in \(target.name)",
                executable: protoc,
                arguments: arguments,
                inputFiles: inputs + [plugin],
                outputFiles: outputs)
        ]
    }

    private func protocURL(_ config: Configuration) throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PROTOC_PATH"] ?? config.protocPath { return URL(fileURLWithPath: path) }
        for directory in (environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appending(path: "protoc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw PluginError.protocNotFound
    }

    enum PluginError: Error, CustomStringConvertible {
        case protocNotFound
        var description: String {
            "protoc not found: install protobuf-compiler, set PROTOC_PATH, or set protocPath in sluice-protoc.json"
        }
    }
}
