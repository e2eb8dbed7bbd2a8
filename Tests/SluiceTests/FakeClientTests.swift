import Foundation
import SeedServices
import Sluice
import SluiceProto
import Testing

// Fakes of generated client protocols, one per call kind, built only from public API: what an
// application's tests write to stand in for a server.

/// Unary and server-streaming: a catalog that knows two products.
struct FakeCatalog: Catalog_ProductService.ClientProtocol {
    var failure: RPCError?

    func getProduct(_ request: Catalog_GetProductRequest, metadata: Metadata, options: CallOptions) async throws -> UnaryResponse<Catalog_Product> {
        if let failure { throw failure }
        var product = Catalog_Product()
        product.id = request.productID
        return UnaryResponse(message: product, headers: ["x-cache": "hit"], trailers: [:])
    }

    func listProducts(_ request: Catalog_ListProductsRequest, metadata: Metadata, options: CallOptions) async throws -> StreamingResponse<Catalog_Product> {
        let products = (0..<Int(request.limit)).map { i -> Catalog_Product in
            var product = Catalog_Product()
            product.id = "p\(i)"
            return product
        }
        return StreamingResponse(messages: products, headers: ["x-page": "1"], trailers: ["x-total": .string("\(products.count)")],
                                 error: failure)
    }

    func getRecommendations(_ request: Catalog_GetRecommendationsRequest, metadata: Metadata, options: CallOptions) async throws -> UnaryResponse<Catalog_ListProductsResponse> {
        UnaryResponse(message: Catalog_ListProductsResponse(), headers: [:], trailers: [:])
    }
}

/// Client-streaming: counts the bytes uploaded, in both call forms.
struct FakeFiles: Files_FileService.ClientProtocol {
    func uploadFile<Requests: AsyncSequence & Sendable>(requests: Requests, metadata: Metadata, options: CallOptions) async throws -> UnaryResponse<Files_UploadStatus> where Requests.Element == Files_FileChunk {
        var size = 0
        for try await chunk in requests { size += chunk.content.count }
        return UnaryResponse(message: Self.status(size), headers: [:], trailers: [:])
    }

    func uploadFile(metadata: Metadata, options: CallOptions) async throws -> ClientStreamingCall<Files_FileChunk, Files_UploadStatus> {
        ClientStreamingCall { chunks in
            var size = 0
            for try await chunk in chunks {
                if chunk.fileName == "forbidden" { throw RPCError(code: .permissionDenied, message: "no") }
                size += chunk.content.count
            }
            return UnaryResponse(message: Self.status(size), headers: [:], trailers: ["x-stored": "yes"])
        }
    }

    static func status(_ size: Int) -> Files_UploadStatus {
        var status = Files_UploadStatus()
        status.success = true
        status.size = Int64(size)
        return status
    }
}

/// Bidirectional: echoes each message in upper case, in both call forms.
struct FakeChat: Chat_ChatService.ClientProtocol {
    func chat<Requests: AsyncSequence & Sendable>(requests: Requests, metadata: Metadata, options: CallOptions) async throws -> StreamingResponse<Chat_ChatMessage> where Requests.Element == Chat_ChatMessage {
        StreamingResponse(messages: requests.map(Self.echo))
    }

    func chat(metadata: Metadata, options: CallOptions) async throws -> BidirectionalStreamingCall<Chat_ChatMessage, Chat_ChatMessage> {
        BidirectionalStreamingCall(headers: ["x-room": "lobby"]) { messages, replies in
            for try await message in messages {
                if message.text == "bye" { throw RPCError(code: .aborted, message: "left", metadata: ["x-reason": "bye"]) }
                try await replies.write(Self.echo(message))
            }
            return ["x-said": "done"]
        }
    }

    @Sendable static func echo(_ message: Chat_ChatMessage) -> Chat_ChatMessage {
        var echo = message
        echo.text = message.text.uppercased()
        return echo
    }
}

func chatMessage(_ text: String) -> Chat_ChatMessage {
    var message = Chat_ChatMessage()
    message.text = text
    return message
}

/// Code under test sees only the protocol.
func productIDs(from catalog: some Catalog_ProductService.ClientProtocol, limit: Int32) async throws -> [String] {
    var request = Catalog_ListProductsRequest()
    request.limit = limit
    var ids: [String] = []
    for try await product in try await catalog.listProducts(request) { ids.append(product.id) }
    return ids
}

@Suite("Fakes of generated clients")
struct FakeClientTests {
    @Test("a unary fake returns its message and headers, or throws its error")
    func unary() async throws {
        var request = Catalog_GetProductRequest()
        request.productID = "42"
        let response = try await FakeCatalog().getProduct(request)
        #expect(response.id == "42")
        #expect(response.headers["x-cache"] == ["hit"])
        await #expect(throws: RPCError(code: .notFound, message: "gone")) {
            try await FakeCatalog(failure: RPCError(code: .notFound, message: "gone")).getProduct(request)
        }
    }

    @Test("a server-streaming fake plays back its messages, then headers, trailers and status")
    func serverStreaming() async throws {
        #expect(try await productIDs(from: FakeCatalog(), limit: 3) == ["p0", "p1", "p2"])
        var request = Catalog_ListProductsRequest()
        request.limit = 2
        let response = try await FakeCatalog().listProducts(request)
        var count = 0
        for try await _ in response { count += 1 }
        #expect(count == 2)
        #expect(await response.headers["x-page"] == ["1"])
        #expect(await response.trailers["x-total"] == ["2"])
        #expect(await response.status == .ok)
    }

    @Test("a server-streaming fake that fails after its messages throws at the end and reports the status")
    func serverStreamingFailure() async throws {
        let fake = FakeCatalog(failure: RPCError(code: .unavailable, message: "shard down"))
        var request = Catalog_ListProductsRequest()
        request.limit = 2
        let response = try await fake.listProducts(request)
        var received: [String] = []
        await #expect(throws: RPCError(code: .unavailable, message: "shard down")) {
            for try await product in response { received.append(product.id) }
        }
        #expect(received == ["p0", "p1"])
        #expect(await response.status == Status(code: .unavailable, message: "shard down"))
    }

    @Test("a cancelled streaming fake stops with CANCELLED")
    func cancelled() async throws {
        var request = Catalog_ListProductsRequest()
        request.limit = 5
        let response = try await FakeCatalog().listProducts(request)
        var iterator = response.makeAsyncIterator()
        #expect(try await iterator.next()?.id == "p0")
        response.cancel()
        await #expect(throws: RPCError.self) { _ = try await iterator.next() }
        #expect(await response.status.code == .cancelled)
    }

    @Test("a client-streaming fake reads what the caller sends, in both forms")
    func clientStreaming() async throws {
        let chunks = [Chunks.chunk("a", 3), Chunks.chunk("b", 4)]
        let whole = try await FakeFiles().uploadFile(requests: chunks.async)
        #expect(whole.size == 7)

        let call = try await FakeFiles().uploadFile()
        for chunk in chunks { try await call.requests.send(chunk) }
        call.requests.finish()
        let response = try await call.response
        #expect(response.size == 7)
        #expect(response.trailers["x-stored"] == ["yes"])

        let refused = try await FakeFiles().uploadFile()
        try await refused.requests.send(Chunks.chunk("forbidden", 1))
        refused.requests.finish()
        await #expect(throws: RPCError(code: .permissionDenied, message: "no")) { _ = try await refused.response }
    }

    @Test("a bidirectional fake answers as the caller sends, in both forms")
    func bidirectional() async throws {
        let fromSequence = try await FakeChat().chat(requests: ["hi", "there"].map(chatMessage).async)
        var texts: [String] = []
        for try await reply in fromSequence { texts.append(reply.text) }
        #expect(texts == ["HI", "THERE"])

        let call = try await FakeChat().chat()
        var replies = call.responses.makeAsyncIterator()
        // Interleaved: each reply arrives before the next request is sent.
        try await call.requests.send(chatMessage("one"))
        #expect(try await replies.next()?.text == "ONE")
        try await call.requests.send(chatMessage("two"))
        #expect(try await replies.next()?.text == "TWO")
        call.requests.finish()
        #expect(try await replies.next() == nil)
        #expect(await call.responses.headers["x-room"] == ["lobby"])
        #expect(await call.responses.trailers["x-said"] == ["done"])
        #expect(await call.responses.status == .ok)
    }

    @Test("a bidirectional fake that throws ends the call with its status and trailers")
    func bidirectionalFailure() async throws {
        let call = try await FakeChat().chat()
        try await call.requests.send(chatMessage("bye"))
        await #expect(throws: RPCError.self) {
            for try await _ in call.responses {}
        }
        #expect(await call.responses.status == Status(code: .aborted, message: "left"))
        #expect(await call.responses.trailers["x-reason"] == ["bye"])
    }
}

enum Chunks {
    static func chunk(_ name: String, _ size: Int) -> Files_FileChunk {
        var chunk = Files_FileChunk()
        chunk.fileName = name
        chunk.content = Data(repeating: 7, count: size)
        return chunk
    }
}

extension Array where Element: Sendable {
    /// The array as an async sequence.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
