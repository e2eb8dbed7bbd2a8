import Foundation
@testable import SluiceCodeGen
import SluiceDescriptors
import SluiceProto
import SluiceTestSupport
import Testing

// Each fix found by compiling real protos, asserted on the generated text. The generated files
// themselves (Generated/SluiceTestMessages) are compiled by the package build, and the golden
// test keeps them equal to what the generator writes.

@Suite("Code generation fixes")
struct CodeGenFixTests {
    func generated(_ file: String, parameter: String = "Visibility=Public") async throws -> String {
        let response = Generator.generate(try await request(for: [file], parameter: parameter))
        #expect(!response.hasError, "\(response.error)")
        return try #require(response.file.first?.content)
    }

    @Test("a user's file under google/protobuf/ imports SluiceProto; the well-known types do not")
    func userFileUnderGoogleProtobuf() async throws {
        let content = try await generated("google/protobuf/unittest_sluice_user.proto")
        #expect(content.contains("\nimport SluiceProto\n"))
        #expect(!ModuleMap.isRuntimeFile("google/protobuf/test_messages_proto3.proto"))
        #expect(ModuleMap.isRuntimeFile("google/protobuf/timestamp.proto"))
        #expect(ModuleMap.isRuntimeFile("google/rpc/status.proto"))
        #expect(ModuleMap().module(for: "google/protobuf/test_messages_proto3.proto") == nil)
    }

    @Test("aliases whose Swift names coincide are emitted once; the field default uses the alias")
    func aliasesDifferingInCase() async throws {
        let content = try await generated("sluice/test/edge_cases.proto")
        #expect(content.components(separatedBy: "public static let moo = Self.aliasBaz").count == 2)
        #expect(content.contains("public static let bAz = Self.aliasBaz"))
        #expect(content.contains("Sluice_Test_Edge_AliasedEnum.moo"))
    }

    @Test("values of different numbers that camel-case alike get their number appended")
    func distinctValuesDifferingInCase() {
        let names = SwiftNaming.enumCaseNames([("COLOR_FOO_BAR", 0), ("COLOR_FooBar", 1), ("COLOR_FOOBAR", 1), ("COLOR_NEG", -1)],
                                              enumName: "Color")
        #expect(names == ["fooBar", "fooBar_1", "foobar", "neg"])
        let clash = SwiftNaming.enumCaseNames([("A_B", 3), ("a_b", 4), ("AB_", 5)], enumName: "E")
        #expect(Set(clash).count == 3, "\(clash)")
    }

    @Test("extensions declared in a message carry the message's full name")
    func scopedExtensionNames() async throws {
        let content = try await generated("sluice/test/edge_cases.proto")
        #expect(content.contains(#"protoName: "sluice.test.edge.Scope.scoped_number""#))
        #expect(content.contains(#"protoName: "sluice.test.edge.Scope.Inner.inner_name""#))
        #expect(content.contains(#"protoName: "sluice.test.edge.top_level_flag""#))
    }

    @Test("message_set_wire_format is refused with an error naming the message")
    func messageSetRefused() async throws {
        var bad = try await request(for: ["sluice/test/edge_cases.proto"])
        let index = try #require(bad.protoFile.firstIndex { $0.name == "sluice/test/edge_cases.proto" })
        bad.protoFile[index].messageType[0].options.messageSetWireFormat = true
        let error = Generator.generate(bad).error
        #expect(error.contains("message sluice.test.edge.Extendable in sluice/test/edge_cases.proto sets message_set_wire_format"), "\(error)")
    }
}

@Suite("Code generation options")
struct CodeGenOptionTests {
    @Test("Client=false leaves out the client; Server=false the server; both keep the method descriptors")
    func clientAndServerSwitches() async throws {
        let serverOnly = try #require(Generator.generate(try await request(for: ["shop/chat.proto"], parameter: "Visibility=Public,Client=false")).file.first?.content)
        #expect(!serverOnly.contains("ClientProtocol"))
        #expect(!serverOnly.contains("struct Client"))
        #expect(serverOnly.contains("public protocol ServiceProtocol: Sluice.RegistrableService"))
        #expect(serverOnly.contains("extension Chat_ChatService.ServiceProtocol"))
        #expect(serverOnly.contains("static let descriptor = Sluice.MethodDescriptor"))

        let clientOnly = try #require(Generator.generate(try await request(for: ["shop/chat.proto"], parameter: "Server=FALSE")).file.first?.content)
        #expect(clientOnly.contains("protocol ClientProtocol: Sendable"))
        #expect(clientOnly.contains("extension Chat_ChatService.ClientProtocol"))
        #expect(!clientOnly.contains("ServiceProtocol"))

        let full = try #require(Generator.generate(try await request(for: ["shop/chat.proto"])).file.first?.content)
        let committed = try String(contentsOf: repositoryRoot.appending(path: "Generated/SeedServices/shop/chat.pb.swift"), encoding: .utf8)
        #expect(full == committed)

        let bad = Generator.generate(try await request(for: ["shop/chat.proto"], parameter: "Client=no"))
        #expect(bad.error.contains("invalid value 'no' for option 'Client' (valid: true, false)"))
    }

    @Test("every invalid value names the valid ones")
    func invalidValues() {
        #expect(throws: CodeGenError.invalidOptionValue(option: "FileNaming", value: "Flat", valid: ["FullPath", "PathToUnderscores", "DropPath"])) {
            try CodeGenOptions(parameter: "FileNaming=Flat")
        }
        #expect(throws: CodeGenError.invalidOptionValue(option: "Visibility", value: "public", valid: ["Internal", "Public", "Package"])) {
            try CodeGenOptions(parameter: "Visibility=public")
        }
    }

    @Test("a module mapping file maps every file it lists, in each of the text format's spellings")
    func mappingFile() throws {
        let text = """
            # googleapis in one target
            mapping {
              module_name: "GoogleAPIs"
              proto_file_path: "google/api/http.proto"
              proto_file_path: 'google/api/' "annotations.proto"
            }
            mapping: <
              module_name: "Catalog";
              proto_file_path: ["shop/catalog.proto", "shop/analytics.proto"]
            >
            """
        let options = try CodeGenOptions(parameter: "ProtoPathModuleMappings=maps.asciipb") { path in
            #expect(path == "maps.asciipb")
            return text
        }
        #expect(options.modules.explicit == [
            "google/api/http.proto": "GoogleAPIs", "google/api/annotations.proto": "GoogleAPIs",
            "shop/catalog.proto": "Catalog", "shop/analytics.proto": "Catalog",
        ])
    }

    @Test("a bad mapping file is an error naming the file and line")
    func badMappingFile() {
        #expect(throws: CodeGenError.badMappingFile(path: "m.txt", reason: "line 3: unknown field 'proto_path' in mapping (expected module_name or proto_file_path)")) {
            try CodeGenOptions(parameter: "ProtoPathModuleMappings=m.txt") { _ in "mapping {\n module_name: \"A\"\n proto_path: \"a.proto\"\n}" }
        }
        #expect(throws: CodeGenError.badMappingFile(path: "m.txt", reason: "line 1: mapping without a module_name")) {
            try CodeGenOptions(parameter: "ProtoPathModuleMappings=m.txt") { _ in "mapping { proto_file_path: \"a.proto\" }" }
        }
        #expect(throws: CodeGenError.badMappingFile(path: "m.txt", reason: "line 2: expected '}' before the end of the file")) {
            try CodeGenOptions(parameter: "ProtoPathModuleMappings=m.txt") { _ in "mapping {\n module_name: \"A\"" }
        }
        #expect(throws: CodeGenError.badMappingFile(path: "m.txt", reason: "a.proto is mapped to both A and B")) {
            try CodeGenOptions(parameter: "ModuleMapping=a.proto=A,ProtoPathModuleMappings=m.txt") { _ in
                "mapping { module_name: \"B\" proto_file_path: \"a.proto\" }"
            }
        }
    }

    @Test("protoc runs the plugin with a mapping file relative to its working directory")
    func mappingFileThroughProtoc() async throws {
        let dir = FileManager.default.temporaryDirectory.appending(path: "sluice-map-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appending(path: "out"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "mapping { module_name: \"Catalog\" proto_file_path: \"shop/catalog.proto\" }\n"
            .write(to: dir.appending(path: "modules.asciipb"), atomically: true, encoding: .utf8)
        let result = try await run("protoc", ["--plugin=protoc-gen-swift-grpc=\(pluginBinary.path)", "--swift-grpc_out=out",
                                              "--swift-grpc_opt=ProtoPathModuleMappings=modules.asciipb",
                                              "-I", repositoryRoot.path + "/Protos", "-I", protobufInclude, "shop/search.proto"], in: dir)
        #expect(result.status == 0, "\(result.output)")
        let content = try String(contentsOf: dir.appending(path: "out/shop/search.pb.swift"), encoding: .utf8)
        #expect(content.contains("import SluiceProto\nimport Catalog\n"))

        let missing = try await run("protoc", ["--plugin=protoc-gen-swift-grpc=\(pluginBinary.path)", "--swift-grpc_out=out",
                                               "--swift-grpc_opt=ProtoPathModuleMappings=nowhere.asciipb",
                                               "-I", repositoryRoot.path + "/Protos", "-I", protobufInclude, "shop/search.proto"], in: dir)
        #expect(missing.status != 0)
        #expect(missing.output.contains("cannot read nowhere.asciipb"), "\(missing.output)")
    }

    @Test("two files that would get one output name are refused, naming both and the fix")
    func outputCollisions() throws {
        let fullPath = try CodeGenOptions(parameter: "")
        #expect(throws: CodeGenError.outputCollision(first: "a/user.proto", second: "b/user.proto", fileName: "user.pb.swift", naming: .fullPath)) {
            try fullPath.checkOutputNames(["a/user.proto", "b/user.proto"])
        }
        let underscores = try CodeGenOptions(parameter: "FileNaming=PathToUnderscores")
        try underscores.checkOutputNames(["a/user.proto", "b/user.proto"])
        #expect(throws: CodeGenError.self) { try underscores.checkOutputNames(["a_b/c.proto", "a/b_c.proto"]) }
        #expect(CodeGenError.outputCollision(first: "a/user.proto", second: "b/user.proto", fileName: "user.pb.swift", naming: .fullPath)
            .description.contains("pass FileNaming=PathToUnderscores"))
    }
}
