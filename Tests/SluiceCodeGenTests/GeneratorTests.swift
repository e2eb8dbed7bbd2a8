import Foundation
@testable import SluiceCodeGen
import SluiceDescriptors
import SluiceProto
import SluiceTestSupport
import Testing

let protobufInclude = ProcessInfo.processInfo.environment["PROTOBUF_INCLUDE"] ?? "/usr/include"

/// A CodeGeneratorRequest for `files`, built from protoc's descriptor set with source info,
/// as protoc would send it.
func request(for files: [String], parameter: String = "Visibility=Public") async throws -> Google_Protobuf_Compiler_CodeGeneratorRequest {
    let out = FileManager.default.temporaryDirectory.appending(path: "sluice-set-\(UUID().uuidString).pb")
    defer { try? FileManager.default.removeItem(at: out) }
    let result = try await run("protoc", ["--descriptor_set_out=\(out.path)", "--include_imports", "--include_source_info",
                                    "-I", "Protos", "-I", "Examples/Spooled/Sources/SpooledAPI",
                                    "-I", protobufInclude] + files)
    try #require(result.status == 0, "protoc failed: \(result.output)")
    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: Data(contentsOf: out))
    var request = Google_Protobuf_Compiler_CodeGeneratorRequest()
    request.fileToGenerate = files
    request.parameter = parameter
    request.protoFile = set.file
    return request
}

/// The built plugin, beside the test bundle.
var pluginBinary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appending(path: "protoc-gen-swift-grpc")
}

@Suite("Generator")
struct GeneratorTests {
    @Test("output for the test protos matches the committed Generated/ files")
    func golden() async throws {
        let files = ["sluice/test/all_types_proto2.proto", "sluice/test/all_types_proto3.proto", "sluice/test/edge_cases.proto",
                     "sluice/test/naming.proto", "google/protobuf/unittest_sluice_user.proto"]
        let response = Generator.generate(try await request(for: files))
        #expect(!response.hasError, "\(response.error)")
        #expect(response.file.count == files.count)
        for file in response.file {
            let committed = try String(
                contentsOf: repositoryRoot.appending(path: "Generated/SluiceTestMessages/\(file.name)"), encoding: .utf8)
            #expect(file.content == committed, "\(file.name) differs from Generated/")
        }
    }

    @Test("the model boxes exactly the fields on reference cycles")
    func recursion() async throws {
        let req = try await request(for: ["sluice/test/all_types_proto3.proto"])
        let symbols = try SymbolTable(files: req.protoFile, modules: ModuleMap(), generating: Set(req.fileToGenerate))
        #expect(symbols.isRecursive(from: "sluice.test.TestAllTypes", to: ".sluice.test.TestAllTypes"))
        #expect(symbols.isRecursive(from: "sluice.test.TestAllTypes", to: ".sluice.test.TestAllTypes.NestedMessage"))
        #expect(symbols.isRecursive(from: "sluice.test.TestAllTypes.NestedMessage", to: ".sluice.test.TestAllTypes"))
        #expect(!symbols.isRecursive(from: "sluice.test.TestAllTypes", to: ".sluice.test.ForeignMessage"))
        #expect(!symbols.isRecursive(from: "sluice.test.TestAllTypes", to: ".google.protobuf.Timestamp"))
    }

    @Test("the model finds messages that need a required-field check, through cycles")
    func requiredAnalysis() async throws {
        let req = try await request(for: ["sluice/test/all_types_proto2.proto"])
        let symbols = try SymbolTable(files: req.protoFile, modules: ModuleMap(), generating: Set(req.fileToGenerate))
        #expect(symbols.needsRequiredCheck.contains("sluice.test.proto2.TestRequired"))
        #expect(symbols.needsRequiredCheck.contains("sluice.test.proto2.TestRequiredHolder"))
        #expect(!symbols.needsRequiredCheck.contains("sluice.test.proto2.TestAllTypesProto2"))
    }

    @Test("view models carry comments, presence and oneofs")
    func viewModel() async throws {
        let req = try await request(for: ["spooled/v1/spooled.proto"])
        let options = try CodeGenOptions(parameter: "Visibility=Public")
        let symbols = try SymbolTable(files: req.protoFile, modules: options.modules, generating: Set(req.fileToGenerate))
        let file = try #require(req.protoFile.first { $0.name == "spooled/v1/spooled.proto" })
        let model = try FileViewModelBuilder(file: file, symbols: symbols, options: options, generating: Set(req.fileToGenerate)).build()
        // SluiceDescriptors: spooled.proto imports google/api/annotations.proto.
        #expect(model.imports == ["Sluice", "SluiceProto", "SluiceDescriptors"])
        #expect(model.services.map(\.name) == ["Spooled_V1_QueueService", "Spooled_V1_WorkerService"])
        let streamJobs = try #require(model.services.first?.methods.first { $0.protoName == "StreamJobs" })
        #expect(streamJobs.isServerStreaming && streamJobs.funcName == "streamJobs" && streamJobs.output == "Spooled_V1_Job")
        #expect(streamJobs.docLines == ["/// Jobs as a continuous stream, each leased to the worker as it is sent (over REST: one JSON",
                                        "/// line per job)."])
        // Its google.api.http option, among the service's bindings.
        let bindings = try #require(model.services.first?.httpBindings)
        #expect(bindings.count == 7)
        #expect(bindings.contains { $0.methodTypeName == "StreamJobs" && $0.path == #""/v1/queues/{queue_name}/jobs:stream""# })
        let job = try #require(model.messages.first { $0.name == "Spooled_V1_Job" })
        #expect(job.fields.first { $0.name == "payload" }?.docLines == ["/// JSON payload, as the seed's clients send it."])
        #expect(job.fields.first { $0.name == "createdAt" }?.hasPresence == true)
        #expect(job.fields.first { $0.name == "tags" }?.type == "[String: String]")
        let worker = try #require(model.messages.first { $0.name == "Spooled_V1_WorkerMessage" })
        #expect(worker.oneofs.map(\.enumName) == ["OneOf_Message"])
        #expect(worker.oneofs.first?.cases.map(\.name) == ["subscribe", "complete", "fail", "heartbeat", "drain"])
    }

    @Test("unsupported input comes back as the response's error")
    func errors() async throws {
        var bad = try await request(for: ["sluice/test/naming.proto"], parameter: "Frobnicate=yes")
        #expect(Generator.generate(bad).error.contains("unknown option 'Frobnicate'"))

        bad = try await request(for: ["sluice/test/naming.proto"])
        bad.protoFile[bad.protoFile.count - 1].syntax = "editions"
        #expect(Generator.generate(bad).error.contains("editions syntax is not supported"))

        bad = try await request(for: ["sluice/test/naming.proto"])
        bad.protoFile[bad.protoFile.count - 1].messageType[0].field[0].type = .message
        bad.protoFile[bad.protoFile.count - 1].messageType[0].field[0].typeName = ".nowhere.Missing"
        #expect(Generator.generate(bad).error.contains("type .nowhere.Missing is not defined"))
    }

    @Test("protoc shows the plugin's errors and fails")
    func protocReportsErrors() async throws {
        let out = FileManager.default.temporaryDirectory.appending(path: "sluice-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try await run("protoc", ["--plugin=protoc-gen-swift-grpc=\(pluginBinary.path)", "--swift-grpc_out=\(out.path)",
                                        "--swift-grpc_opt=Visibility=Sideways", "-I", "Protos", "-I", protobufInclude,
                                        "venta/user.proto"])
        #expect(result.status != 0)
        #expect(result.output.contains("invalid value 'Sideways' for option 'Visibility' (valid: Internal, Public, Package)"))
    }

    @Test("the plugin binary works when copied alone to another folder")
    func selfContained() async throws {
        let dir = FileManager.default.temporaryDirectory.appending(path: "sluice-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appending(path: "out"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appending(path: "protoc-gen-swift-grpc")
        try FileManager.default.copyItem(at: pluginBinary, to: copy)
        let result = try await run("protoc", ["--plugin=protoc-gen-swift-grpc=\(copy.path)", "--swift-grpc_out=\(dir.path)/out",
                                        "--swift-grpc_opt=Visibility=Public", "-I", repositoryRoot.path + "/Protos",
                                        "-I", protobufInclude, "venta/user.proto"], in: dir)
        #expect(result.status == 0, "\(result.output)")
        let generated = try String(contentsOf: dir.appending(path: "out/venta/user.pb.swift"), encoding: .utf8)
        let committed = try String(contentsOf: repositoryRoot.appending(path: "Generated/SeedServices/venta/user.pb.swift"), encoding: .utf8)
        #expect(generated == committed)
    }
}

@Suite("Imports across modules")
struct ModuleMappingTests {
    @Test("a dependency mapped to another module is imported; one in the same run is not")
    func imports() async throws {
        let req = try await request(for: ["shop/search.proto"], parameter: "Visibility=Public,ModuleMapping=shop/catalog.proto=Catalog")
        let response = Generator.generate(req)
        let content = try #require(response.file.first?.content)
        #expect(content.contains("import SluiceProto\nimport Catalog\n"))
        #expect(content.contains("public var products: [Catalog_Product] = []"))

        let both = try await request(for: ["shop/search.proto", "shop/catalog.proto"])
        let searchFile = try #require(Generator.generate(both).file.first { $0.name == "shop/search.pb.swift" })
        #expect(!searchFile.content.contains("import Catalog"))
    }

    @Test("well-known types generated into SluiceProto import nothing of their own module")
    func runtimeFiles() async throws {
        let req = try await request(for: ["google/protobuf/api.proto", "google/protobuf/source_context.proto", "google/protobuf/type.proto"])
        for file in Generator.generate(req).file {
            #expect(!file.content.contains("import SluiceProto"), "\(file.name)")
        }
    }
}
