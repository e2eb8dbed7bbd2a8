import Foundation
import SeedServices
import Sluice
import SluiceDescriptors
import SluiceHealth
import SluiceHTTP2
import SluiceProto
import SluiceReflection
import SluiceTestMessages
import SluiceTestSupport
import Testing

/// A search service for its file, which imports `shop/catalog.proto`.
struct SearchService: Search_SearchService.ServiceProtocol {
    func searchProducts(request: Search_SearchRequest, context: ServerContext) async throws -> Search_SearchResponse {
        Search_SearchResponse()
    }
}

/// The seed services, health, and the file of extensions the tests ask about.
func reflectedServices() -> [any RegistrableService] {
    [UserService(), CatalogService(), ChatService(), SearchService(), HealthService()]
}

/// Serves `services` and a reflection service describing them on loopback HTTP/2.
func withReflectionServer<T: Sendable>(
    _ body: (GRPCClient, Int) async throws -> T
) async throws -> T {
    let services = reflectedServices()
    let reflection = try ReflectionService(
        describing: services, files: [ProtoFile_sluice_test_edge_cases_proto.descriptor])
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = GRPCServer(transport: transport, services: services + [reflection])
    let serving = Task { try await server.serve() }
    let port = try await server.listeningAddress.port ?? 0
    let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
    do {
        let result = try await body(client, port)
        await client.close()
        server.beginGracefulShutdown()
        try await serving.value
        return result
    } catch {
        await client.close()
        server.shutdownNow()
        _ = try? await serving.value
        throw error
    }
}

typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

func request(_ question: Request.OneOf_MessageRequest) -> Request {
    var request = Request()
    request.host = "localhost"
    request.messageRequest = question
    return request
}

/// The names of the files in a file descriptor response, or the error code.
func fileNames(_ response: Response) throws -> [String] {
    switch response.messageResponse {
    case .fileDescriptorResponse(let files):
        return try files.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name }
    case .errorResponse(let error):
        return ["error \(error.errorCode)"]
    default:
        return ["unexpected \(String(describing: response.messageResponse))"]
    }
}

@Suite("Server reflection (grpc.reflection.v1 and v1alpha)", .serialized, .timeLimit(.minutes(2)))
struct ReflectionServiceTests {
    @Test("the descriptors generated code embeds are protoc's own, imports included")
    func embeddedDescriptorsAreProtocs() async throws {
        let set = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-reflection-\(UUID()).pb")
        defer { try? FileManager.default.removeItem(at: set) }
        let protoc = try await run("protoc", [
            "--include_imports", "--descriptor_set_out=\(set.path)", "-I", "Protos", "-I", "/usr/include",
            "shop/search.proto", "shop/chat.proto", "sluice/test/edge_cases.proto",
        ])
        #expect(protoc.status == 0, "\(protoc.output)")
        let files = try Google_Protobuf_FileDescriptorSet(serializedBytes: try Data(contentsOf: set)).file
        let embedded = [
            Search_SearchService.fileDescriptor, Chat_ChatService.fileDescriptor,
            ProtoFile_sluice_test_edge_cases_proto.descriptor,
        ].flatMap(\.transitiveClosure)
        #expect(Set(embedded.map(\.name)) == Set(files.map(\.name)))
        for file in files {
            let ours = try #require(embedded.first { $0.name == file.name })
            #expect(try Google_Protobuf_FileDescriptorProto(serializedBytes: ours.serializedFileDescriptorProto) == file, "\(file.name)")
            #expect(ours.dependencies.map(\.name) == file.dependency)
        }
    }

    @Test("list_services names every service served, the reflection services included")
    func listServices() async throws {
        try await withReflectionServer { client, _ in
            for version in ["v1", "v1alpha"] {
                let responses = try await exchange(client, version: version, [request(.listServices(""))])
                guard case .listServicesResponse(let list) = responses.first?.messageResponse else {
                    Issue.record("\(version): \(responses)")
                    continue
                }
                #expect(list.service.map(\.name) == [
                    "catalog.ProductService", "chat.ChatService", "grpc.health.v1.Health",
                    "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
                    "search.SearchService", "venta.user.UserService",
                ], "\(version)")
                #expect(responses.first?.validHost == "localhost")
                #expect(responses.first?.originalRequest == request(.listServices("")))
            }
        }
    }

    @Test("files come with their dependencies, each dependency once a stream, the file asked for always")
    func filesAndDependencies() async throws {
        try await withReflectionServer { client, _ in
            let responses = try await exchange(client, version: "v1", [
                request(.fileByFilename("shop/search.proto")),
                request(.fileByFilename("shop/catalog.proto")),
                request(.fileContainingSymbol("search.SearchService.SearchProducts")),
                request(.fileContainingSymbol("chat.ChatMessage")),
                request(.fileByFilename("nope.proto")),
                request(.fileContainingSymbol("venta.user.User")),
            ])
            #expect(try responses.map(fileNames) == [
                ["shop/search.proto", "shop/catalog.proto"],
                ["shop/catalog.proto"],
                ["shop/search.proto"],
                ["shop/chat.proto", "google/protobuf/timestamp.proto"],
                ["error 5"],
                ["venta/user.proto"],
            ])
        }
    }

    @Test("symbols of every kind, extensions by number, and all extension numbers of a type")
    func symbolsAndExtensions() async throws {
        let edge = "sluice/test/edge_cases.proto"
        try await withReflectionServer { client, _ in
            var extensionRequest = Grpc_Reflection_V1_ExtensionRequest()
            extensionRequest.containingType = "sluice.test.edge.Extendable"
            extensionRequest.extensionNumber = 101
            var unknownExtension = extensionRequest
            unknownExtension.extensionNumber = 150
            let symbols = [
                "sluice.test.edge", "sluice.test.edge.Extendable", "sluice.test.edge.Extendable.kind",
                "sluice.test.edge.Scope.Inner", "sluice.test.edge.Scope.scoped_number", "sluice.test.edge.top_level_flag",
                "catalog.ProductService", "catalog.ProductService.GetProduct", "grpc.health.v1.HealthCheckResponse.SERVING",
            ]
            let responses = try await exchange(client, version: "v1alpha",
                symbols.map { request(.fileContainingSymbol($0)) } + [
                    request(.fileContainingExtension(extensionRequest)),
                    request(.fileContainingExtension(unknownExtension)),
                    request(.allExtensionNumbersOfType("sluice.test.edge.Extendable")),
                    request(.allExtensionNumbersOfType("catalog.Product")),
                    request(.allExtensionNumbersOfType("no.Such")),
                ])
            let names = try responses.prefix(symbols.count).map { try fileNames($0).first }
            #expect(names == [edge, edge, edge, edge, edge, edge, "shop/catalog.proto", "shop/catalog.proto", "grpc/health/v1/health.proto"])
            #expect(try fileNames(responses[symbols.count]).first == edge)
            #expect(try fileNames(responses[symbols.count + 1]) == ["error 5"])
            let numbers = responses.suffix(3).map { response -> [Int32]? in
                guard case .allExtensionNumbersResponse(let numbers) = response.messageResponse else { return nil }
                return numbers.extensionNumber
            }
            #expect(numbers == [[100, 101, 102], [], nil])
        }
    }

    @Test("a request with no question ends the stream with INVALID_ARGUMENT")
    func emptyRequest() async throws {
        try await withReflectionServer { client, _ in
            let error = await #expect(throws: RPCError.self) {
                _ = try await exchange(client, version: "v1", [request(.listServices("")), Request()])
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("two different descriptors of one file are refused, naming it")
    func conflictingFiles() {
        let fake = ProtoFileDescriptor(name: "shop/catalog.proto", serializedFileDescriptorProto: [0x0A, 0x01, 0x78], dependencies: [])
        #expect(throws: ReflectionError.conflictingFiles(name: "shop/catalog.proto")) {
            try ReflectionService(describing: [CatalogService()], files: [fake])
        }
        let garbage = ProtoFileDescriptor(name: "bad.proto", serializedFileDescriptorProto: [0xFF], dependencies: [])
        #expect(throws: ReflectionError.self) { try ReflectionService(describing: [], files: [garbage]) }
    }

    @Test("grpcio-reflection's descriptor database resolves every service and method of a Sluice server")
    func grpcioReflection() async throws {
        try await withReflectionServer { _, port in
            let peer = try ChildProcess("python3", ["Tests/Interop/reflection_peer.py", "\(port)", "sluice.test.edge.Extendable",
                                                        "search.SearchService.SearchProducts"])
            let result = await peer.finish()
            #expect(result.status == 0, "\(result.output)")
            let lines = Set(result.output.split(separator: "\n").map(String.init))
            var expected: Set<String> = ["done", "extension_numbers sluice.test.edge.Extendable 100,101,102",
                                         "extension 100 sluice.test.edge.Scope.scoped_number",
                                         "extension 101 sluice.test.edge.Scope.Inner.inner_name",
                                         "extension 102 sluice.test.edge.top_level_flag",
                                         "v1 files shop/search.proto,shop/catalog.proto", "v1 error 5"]
            var methods: [MethodDescriptor] = []
            for service in reflectedServices() {
                var router = RPCRouter()
                service.registerMethods(with: &router)
                methods += router.methods
            }
            for name in Set(methods.map(\.service)) { expected.insert("service \(name)") }
            for name in Set(methods.map(\.service)) + ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] {
                expected.insert("v1 service \(name)")
            }
            #expect(lines.isSuperset(of: expected), "missing \(expected.subtracting(lines)) in \(result.output)")
            // Every method, with its shape, as the pool resolved it from the descriptors sent.
            let reported = lines.filter { $0.hasPrefix("method ") }
            #expect(reported.count == methods.count + 2, "\(reported)")   // + each reflection version's one method
            for method in methods {
                let clientStreams = method.kind == .clientStreaming || method.kind == .bidirectionalStreaming
                let serverStreams = method.kind == .serverStreaming || method.kind == .bidirectionalStreaming
                let streams = "client_streaming=\(clientStreams ? 1 : 0) server_streaming=\(serverStreams ? 1 : 0)"
                #expect(reported.contains { $0.hasPrefix("method /\(method.fullPath.dropFirst()) ") && $0.hasSuffix(streams) },
                        "\(method.fullPath) \(streams) in \(reported)")
            }
            let getProduct = Catalog_ProductService.Method.GetProduct.self
            #expect(reported.contains("method /catalog.ProductService/GetProduct in=\(getProduct.Input.protoMessageName) out=\(getProduct.Output.protoMessageName) client_streaming=0 server_streaming=0"))
        }
    }
}

/// Sends `requests` on one reflection stream of `version` and collects the responses.
func exchange(_ client: GRPCClient, version: String, _ requests: [Request]) async throws -> [Response] {
    let responses: StreamingResponse<Response>
    if version == "v1" {
        responses = try await Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
            .serverReflectionInfo(requests: AsyncArray(requests))
    } else {
        // v1alpha's messages are v1's on the wire; the v1alpha client checks the other path.
        let alpha = try await Grpc_Reflection_V1Alpha_ServerReflection.Client(wrapping: client)
            .serverReflectionInfo(requests: AsyncArray(try requests.map {
                try Grpc_Reflection_V1Alpha_ServerReflectionRequest(serializedBytes: $0.serializedBytes())
            }))
        var converted: [Response] = []
        for try await response in alpha { converted.append(try Response(serializedBytes: response.serializedBytes())) }
        return converted
    }
    var collected: [Response] = []
    for try await response in responses { collected.append(response) }
    return collected
}
