import Foundation
import SluiceTestSupport
import Testing

/// The command the SwiftPM build plugin runs (`protoc-gen-swift-grpc --sluice-build-plugin`):
/// it reads sluice-protoc.json itself, at build time, so these run it as SwiftPM would.
@Suite("Build plugin command")
struct BuildPluginDriverTests {
    /// A target folder with one proto with a service, and the given sluice-protoc.json.
    func target(config: String?) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appending(path: "sluice-plugin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appending(path: "api"), withIntermediateDirectories: true)
        try """
            syntax = "proto3";
            package demo;
            message Ping { string text = 1; }
            service Pinger { rpc Send(Ping) returns (Ping); }
            """.write(to: dir.appending(path: "api/ping.proto"), atomically: true, encoding: .utf8)
        if let config { try config.write(to: dir.appending(path: "sluice-protoc.json"), atomically: true, encoding: .utf8) }
        return dir
    }

    func runCommand(in dir: URL) async throws -> (status: Int32, output: String) {
        let result = try await run(pluginBinary.path, [
            "--sluice-build-plugin", "--config", dir.appending(path: "sluice-protoc.json").path, "--root", dir.path,
            "--output", dir.appending(path: "out").path, "--protoc-on-path", "/usr/bin/protoc", "--", "api/ping.proto",
        ])
        return (result.status, result.output)
    }

    @Test("the options in sluice-protoc.json apply, and output is named by path with underscores")
    func options() async throws {
        let dir = try target(config: #"{"options": ["Visibility=Public", "Client=false"]}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await runCommand(in: dir)
        #expect(first.status == 0, "\(first.output)")
        let generated = try String(contentsOf: dir.appending(path: "out/api_ping.pb.swift"), encoding: .utf8)
        #expect(generated.contains("public struct Demo_Ping"))
        #expect(!generated.contains("ClientProtocol"))

        // An edit is read by the next run: nothing was cached when the build was planned.
        try #"{"options": ["Visibility=Package"]}"#.write(to: dir.appending(path: "sluice-protoc.json"), atomically: true, encoding: .utf8)
        let second = try await runCommand(in: dir)
        #expect(second.status == 0, "\(second.output)")
        let regenerated = try String(contentsOf: dir.appending(path: "out/api_ping.pb.swift"), encoding: .utf8)
        #expect(regenerated.contains("package struct Demo_Ping"))
        #expect(regenerated.contains("ClientProtocol"))
    }

    @Test("with --sluice-protos a proto imports google/api/annotations.proto and its HTTP bindings are generated")
    func sluiceProtos() async throws {
        let dir = try target(config: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            syntax = "proto3";
            package demo;
            import "google/api/annotations.proto";
            message Ping { string text = 1; }
            service Pinger { rpc Send(Ping) returns (Ping) { option (google.api.http) = { post: "/v1/ping" body: "*" }; } }
            """.write(to: dir.appending(path: "api/ping.proto"), atomically: true, encoding: .utf8)
        let result = try await run(pluginBinary.path, [
            "--sluice-build-plugin", "--config", dir.appending(path: "sluice-protoc.json").path, "--root", dir.path,
            "--output", dir.appending(path: "out").path, "--protoc-on-path", "/usr/bin/protoc",
            "--sluice-protos", repositoryRoot.appending(path: "Protos").path, "--", "api/ping.proto",
        ])
        #expect(result.status == 0, "\(result.output)")
        let generated = try String(contentsOf: dir.appending(path: "out/api_ping.pb.swift"), encoding: .utf8)
        #expect(generated.contains(#"httpMethod: "POST", path: "/v1/ping", body: "*""#))
        #expect(generated.contains("import SluiceDescriptors"))
    }

    @Test("without sluice-protoc.json the defaults apply")
    func noConfiguration() async throws {
        let dir = try target(config: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await runCommand(in: dir)
        #expect(result.status == 0, "\(result.output)")
        #expect(FileManager.default.fileExists(atPath: dir.appending(path: "out/api_ping.pb.swift").path))
    }

    @Test("a bad configuration fails once, naming the file and what is wrong", arguments: [
        (#"{"optons": []}"#, "unknown key 'optons' (known: protocPath, options, importPaths)"),
        (#"{"options": ["Visibility=Public"]"#, "not valid JSON"),
        (#"{"options": "Visibility=Public"}"#, "'options' must be an array of strings"),
        (#"["options"]"#, "expected a JSON object"),
        (#"{"importPaths": ["missing"]}"#, "import path 'missing' does not exist"),
        (#"{"options": ["FileNaming=DropPath"]}"#, "the build plugin names generated files itself"),
        (#"{"options": ["Visibility=Open"]}"#, "invalid value 'Open' for option 'Visibility' (valid: Internal, Public, Package)"),
    ])
    func badConfiguration(config: String, expected: String) async throws {
        let dir = try target(config: config)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await runCommand(in: dir)
        #expect(result.status != 0)
        #expect(result.output.contains(expected), "\(result.output)")
        if expected != "invalid value 'Open' for option 'Visibility' (valid: Internal, Public, Package)" {
            #expect(result.output.contains(dir.appending(path: "sluice-protoc.json").path), "\(result.output)")
            #expect(result.output.components(separatedBy: expected).count == 2, "printed more than once: \(result.output)")
        }
    }
}
