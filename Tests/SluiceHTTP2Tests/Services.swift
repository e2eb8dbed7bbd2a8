import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import Synchronization
import Testing

/// Runs `body` against a server hosting `services` on a real loopback socket.
func withHTTP2Server<T: Sendable>(
    _ services: [any RegistrableService],
    target: SocketTarget = .host("127.0.0.1", port: 0),
    serverConfiguration: HTTP2ServerTransport.Configuration = .init(),
    clientConfiguration: HTTP2ClientTransport.Configuration = .init(),
    serverInterceptors: [any ServerInterceptor] = [],
    _ body: (GRPCClient, SocketTarget) async throws -> T
) async throws -> T {
    let serverTransport = HTTP2ServerTransport(target: target, configuration: serverConfiguration)
    let server = GRPCServer(transport: serverTransport, services: services, interceptors: serverInterceptors)
    let serving = Task { try await server.serve() }
    let address = try await serverTransport.listeningAddress
    let clientTarget: SocketTarget
    switch target {
    case .host(let host, _): clientTarget = .host(host, port: address.port ?? 0)
    case .unixDomainSocket: clientTarget = target
    }
    let transport = try HTTP2ClientTransport(target: clientTarget, configuration: clientConfiguration)
    let client = GRPCClient(transport: transport)
    do {
        let result = try await body(client, clientTarget)
        await client.close()
        server.beginGracefulShutdown()
        try await serving.value
        return result
    } catch {
        await client.close()
        server.beginGracefulShutdown()
        _ = try? await serving.value
        throw error
    }
}

/// A thread-safe box for observations made inside handlers.
final class Observed<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    var value: Value { state.withLock { $0 } }
    func update(_ body: @Sendable (inout Value) -> Void) { state.withLock { body(&$0) } }
}

/// The seed's user service, in memory.
struct UserService: Venta_User_UserService.ServiceProtocol {
    let seen = Observed<[Metadata]>([])

    func getUser(request: Venta_User_GetUserRequest, context: ServerContext) async throws -> Venta_User_User {
        seen.update { $0.append(context.metadata) }
        guard request.id == "123" else {
            throw RPCError(code: .notFound, message: "user \(request.id) not found", metadata: ["x-lookup": "miss"])
        }
        context.addResponseHeader("x-served-by", "users-1")
        context.addTrailer("x-cost", "3")
        var user = Venta_User_User()
        user.id = "123"
        user.name = "John Doe"
        user.email = "john@example.com"
        return user
    }

    func createUser(request: Venta_User_CreateUserRequest, context: ServerContext) async throws -> Venta_User_User {
        struct Broken: Error {}
        throw Broken()
    }
}

/// The catalog: a streamed product list, with a switch to stream slowly or forever.
struct CatalogService: Catalog_ProductService.ServiceProtocol {
    let produced = Observed(0)
    let cancelled = Observed(false)

    func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        var product = Catalog_Product()
        product.id = request.productID
        product.name = String(repeating: "x", count: Int(request.productID.count) * 1000)
        return product
    }

    func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {
        do {
            for i in 0..<Int(request.limit) {
                var product = Catalog_Product()
                product.id = "p\(i)"
                product.category = request.category
                try await responses.write(product)
                produced.update { $0 += 1 }
            }
        } catch {
            cancelled.update { $0 = true }
            throw error
        }
    }

    func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        do {
            try await Task.sleep(for: .seconds(30))
        } catch {
            cancelled.update { $0 = true }
            throw error
        }
        return Catalog_ListProductsResponse()
    }
}

struct FileService: Files_FileService.ServiceProtocol {
    func uploadFile(requests: RequestStream<Files_FileChunk>, context: ServerContext) async throws -> Files_UploadStatus {
        var status = Files_UploadStatus()
        for try await chunk in requests {
            status.size += Int64(chunk.content.count)
        }
        status.success = true
        return status
    }
}

struct ChatService: Chat_ChatService.ServiceProtocol {
    func chat(requests: RequestStream<Chat_ChatMessage>, responses: MessageWriter<Chat_ChatMessage>, context: ServerContext) async throws {
        for try await message in requests {
            var echo = message
            echo.sender = "server"
            echo.text = message.text.uppercased()
            try await responses.write(echo)
        }
    }
}
