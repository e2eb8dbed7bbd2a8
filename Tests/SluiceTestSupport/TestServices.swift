import Foundation
import SeedServices
import Sluice
import SluiceProto
import Synchronization

// Services and helpers shared by the in-process and HTTP/2 call tests.

/// Waits while `condition` holds, for at most `limit`: an upper bound for something that
/// should happen promptly (a cancellation reaching a handler), generous enough for a loaded
/// CI machine.
public func waitWhile(limit: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let end = ContinuousClock.now + limit
    while condition() && ContinuousClock.now < end {
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A thread-safe box for observations made inside handlers.
public final class Observed<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    public init(_ value: Value) { state = Mutex(value) }
    public var value: Value { state.withLock { $0 } }
    @discardableResult
    public func update<Result>(_ body: (inout Value) -> Result) -> Result { state.withLock { body(&$0) } }
}

/// An array as an async sequence: requests for the calls that take one.
public struct AsyncArray<Element: Sendable>: AsyncSequence, Sendable {
    public let elements: [Element]

    public init(_ elements: [Element]) { self.elements = elements }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        public mutating func next() async -> Element? { base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: elements.makeIterator()) }
}

/// The seed's user service, in memory.
public struct UserService: Venta_User_UserService.ServiceProtocol {
    public init() {}
    public let seen = Observed<[Metadata]>([])

    public func getUser(request: Venta_User_GetUserRequest, context: ServerContext) async throws -> Venta_User_User {
        seen.update { $0.append(context.metadata) }
        guard request.id == "123" else {
            // Rich details, as the google.rpc error model recommends for NOT_FOUND.
            var resource = Google_Rpc_ResourceInfo()
            resource.resourceType = "venta.user.User"
            resource.resourceName = "users/\(request.id)"
            resource.description_p = "no such user"
            var retry = Google_Rpc_RetryInfo()
            retry.retryDelay = Google_Protobuf_Duration(seconds: 2)
            throw RPCError(code: .notFound, message: "user \(request.id) not found", metadata: ["x-lookup": "miss"],
                           packing: [resource, retry])
        }
        context.addResponseHeader("x-served-by", "users-1")
        context.addTrailer("x-cost", "3")
        var user = Venta_User_User()
        user.id = "123"
        user.name = "John Doe"
        user.email = "john@example.com"
        return user
    }

    public func createUser(request: Venta_User_CreateUserRequest, context: ServerContext) async throws -> Venta_User_User {
        struct Broken: Error {}
        throw Broken()
    }
}

/// The catalog: a streamed product list, with a switch to stream slowly or forever.
public struct CatalogService: Catalog_ProductService.ServiceProtocol {
    public init() {}
    public let produced = Observed(0)
    public let cancelled = Observed(false)
    public let started = Observed(false)

    public func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        var product = Catalog_Product()
        product.id = request.productID
        product.name = String(repeating: "x", count: Int(request.productID.count) * 1000)
        return product
    }

    public func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {
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

    public func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        started.update { $0 = true }
        do {
            try await Task.sleep(for: .seconds(30))
        } catch {
            cancelled.update { $0 = true }
            throw error
        }
        return Catalog_ListProductsResponse()
    }
}

public struct FileService: Files_FileService.ServiceProtocol {
    public init() {}

    public func uploadFile(requests: RequestStream<Files_FileChunk>, context: ServerContext) async throws -> Files_UploadStatus {
        var status = Files_UploadStatus()
        for try await chunk in requests {
            status.size += Int64(chunk.content.count)
        }
        status.success = true
        return status
    }
}

public struct ChatService: Chat_ChatService.ServiceProtocol {
    public init() {}

    public func chat(requests: RequestStream<Chat_ChatMessage>, responses: MessageWriter<Chat_ChatMessage>, context: ServerContext) async throws {
        for try await message in requests {
            var echo = message
            echo.sender = "server"
            echo.text = message.text.uppercased()
            try await responses.write(echo)
        }
    }
}

/// Reports and sets per-message compression: each reply's text says whether its request
/// arrived compressed, and a request from sender "plain-reply" gets an uncompressed reply on
/// a call whose responses are otherwise gzip.
public struct CompressionEchoService: Chat_ChatService.ServiceProtocol {
    public init() {}

    public func chat(requests: RequestStream<Chat_ChatMessage>, responses: MessageWriter<Chat_ChatMessage>, context: ServerContext) async throws {
        context.setResponseCompression(.gzip)
        for try await message in requests {
            var reply = Chat_ChatMessage()
            reply.text = context.lastRequestWasCompressed ? "compressed" : "plain"
            try await responses.write(reply, compressed: message.sender != "plain-reply")
        }
    }
}

/// Sends requests compressed or not as `requests` says (on a gzip call when `gzip`), and
/// returns, per request, how the server said it arrived and whether its reply came compressed.
public func exchangeWithCompressionEcho(
    _ client: GRPCClient, gzip: Bool, requests: [(compressed: Bool, plainReply: Bool)]
) async throws -> [(request: String, replyCompressed: Bool)] {
    let call = try await Chat_ChatService.Client(wrapping: client).chat(
        metadata: [:], options: CallOptions(compression: gzip ? .gzip : nil))
    var replies = call.responses.makeAsyncIterator()
    var result: [(request: String, replyCompressed: Bool)] = []
    for request in requests {
        var message = Chat_ChatMessage()
        message.text = String(repeating: "z", count: 1000)
        message.sender = request.plainReply ? "plain-reply" : "client"
        try await call.requests.send(message, compressed: request.compressed)
        guard let reply = try await replies.next() else { break }
        result.append((reply.text, call.responses.lastMessageWasCompressed))
    }
    call.requests.finish()
    return result
}

/// A catalog whose GetProduct runs until cancelled, counting starts and cancellations (for
/// shutdown tests), and whose ListProducts streams `limit` products 20 ms apart.
public struct StallingCatalog: Catalog_ProductService.ServiceProtocol {
    public let started = Observed(0)
    public let cancelled = Observed(0)

    public init() {}

    public func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        started.update { $0 += 1 }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            cancelled.update { $0 += 1 }
            throw error
        }
        return Catalog_Product()
    }

    public func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {
        for i in 0..<Int(request.limit) {
            var product = Catalog_Product()
            product.id = "p\(i)"
            try await responses.write(product)
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}

/// Answers GetProduct with its own name, so a test can tell which server took a call.
public struct NamedCatalog: Catalog_ProductService.ServiceProtocol {
    public let name: String

    public init(name: String) {
        self.name = name
    }

    public func getProduct(request: Catalog_GetProductRequest, context: ServerContext) async throws -> Catalog_Product {
        var product = Catalog_Product()
        product.id = request.productID
        product.name = name
        return product
    }

    public func listProducts(request: Catalog_ListProductsRequest, responses: MessageWriter<Catalog_Product>, context: ServerContext) async throws {}

    public func getRecommendations(request: Catalog_GetRecommendationsRequest, context: ServerContext) async throws -> Catalog_ListProductsResponse {
        Catalog_ListProductsResponse()
    }
}
