import Foundation
import SeedServices
@testable import Sluice
import SluiceProto
import SluiceTestSupport
import Testing

@Suite("Calls over the in-process transport", .timeLimit(.minutes(1)))
struct CallTests {
    @Test("unary: message, headers and trailers")
    func unary() async throws {
        let users = UserService()
        try await withInProcessServer([users]) { client in
            let api = Venta_User_UserService.Client(wrapping: client)
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            let response = try await api.getUser(request, metadata: ["authorization": "Bearer t", "x-trace-id": "abc"])
            #expect(response.name == "John Doe")
            #expect(response.message.email == "john@example.com")
            #expect(response.headers.first("x-served-by") == "users-1")
            #expect(response.trailers.first("x-cost") == "3")
        }
        #expect(users.seen.value.first?.first("x-trace-id") == "abc")
        #expect(users.seen.value.first?.first("authorization") == "Bearer t")
    }

    @Test("a thrown RPCError reaches the client with code, message and trailers; other errors are UNKNOWN")
    func errors() async throws {
        try await withInProcessServer([UserService()]) { client in
            let api = Venta_User_UserService.Client(wrapping: client)
            var request = Venta_User_GetUserRequest()
            request.id = "999"
            let error = await #expect(throws: RPCError.self) { try await api.getUser(request) }
            #expect(error?.code == .notFound)
            #expect(error?.message == "user 999 not found")
            #expect(error?.metadata.first("x-lookup") == "miss")
            #expect(error?.detail(Google_Rpc_ResourceInfo.self)?.resourceType == "venta.user.User")

            let unknown = await #expect(throws: RPCError.self) { try await api.createUser(Venta_User_CreateUserRequest()) }
            #expect(unknown?.code == .unknown)
        }
    }

    @Test("a method nobody serves is UNIMPLEMENTED")
    func unimplemented() async throws {
        try await withInProcessServer([UserService()]) { client in
            let catalog = Catalog_ProductService.Client(wrapping: client)
            let error = await #expect(throws: RPCError.self) { try await catalog.getProduct(Catalog_GetProductRequest()) }
            #expect(error?.code == .unimplemented)
        }
    }

    @Test("server streaming: iterate outside any closure, then read trailers and status")
    func serverStreaming() async throws {
        try await withInProcessServer([CatalogService()]) { client in
            let catalog = Catalog_ProductService.Client(wrapping: client)
            var request = Catalog_ListProductsRequest()
            request.category = "electronics"
            request.limit = 50
            let products = try await catalog.listProducts(request)
            var ids: [String] = []
            for try await product in products {
                #expect(product.category == "electronics")
                ids.append(product.id)
            }
            #expect(ids == (0..<50).map { "p\($0)" })
            #expect(await products.status == .ok)
            #expect(await products.trailers.isEmpty)
        }
    }

    @Test("client streaming from an async sequence and from a writer")
    func clientStreaming() async throws {
        try await withInProcessServer([FileService()]) { client in
            let files = Files_FileService.Client(wrapping: client)
            let chunks = AsyncStream<Files_FileChunk> { continuation in
                for size in [10, 20, 30] {
                    var chunk = Files_FileChunk()
                    chunk.content = Data(count: size)
                    continuation.yield(chunk)
                }
                continuation.finish()
            }
            let uploaded = try await files.uploadFile(requests: chunks)
            #expect(uploaded.size == 60)

            let call = try await files.uploadFile()
            for size in [1, 2, 3, 4] {
                var chunk = Files_FileChunk()
                chunk.content = Data(count: size)
                try await call.requests.send(chunk)
            }
            call.requests.finish()
            let status = try await call.response
            #expect(status.size == 10)
            #expect(status.success)
        }
    }

    @Test("bidirectional streaming: ping-pong through a writer")
    func bidirectional() async throws {
        try await withInProcessServer([ChatService()]) { client in
            let chat = Chat_ChatService.Client(wrapping: client)
            let call = try await chat.chat()
            var responses = call.responses.makeAsyncIterator()
            for text in ["hello", "how are you", "bye"] {
                var message = Chat_ChatMessage()
                message.text = text
                try await call.requests.send(message)
                let reply = try await responses.next()
                #expect(reply?.text == text.uppercased())
                #expect(reply?.sender == "server")
            }
            call.requests.finish()
            let last = try await responses.next()
            #expect(last == nil)
        }
    }

    @Test("a client timeout ends the call with DEADLINE_EXCEEDED and cancels the handler")
    func deadline() async throws {
        let catalog = CatalogService()
        try await withInProcessServer([catalog]) { client in
            let api = Catalog_ProductService.Client(wrapping: client)
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                try await api.getRecommendations(Catalog_GetRecommendationsRequest(), options: CallOptions(timeout: .seconds(1)))
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(catalog.started.value)
            #expect(start.duration(to: .now) < .seconds(10))
            try await waitWhile { !catalog.cancelled.value }
            #expect(catalog.cancelled.value)
        }
    }

    @Test("dropping a response stream half-read cancels the server's handler")
    func cancelOnDrop() async throws {
        let catalog = CatalogService()
        try await withInProcessServer([catalog]) { client in
            let api = Catalog_ProductService.Client(wrapping: client)
            var request = Catalog_ListProductsRequest()
            request.limit = 1_000_000
            do {
                let products = try await api.listProducts(request)
                var iterator = products.makeAsyncIterator()
                _ = try await iterator.next()
                _ = try await iterator.next()
            }
            try await waitWhile { !catalog.cancelled.value }
            #expect(catalog.cancelled.value)
            #expect(catalog.produced.value < 1_000)
        }
    }

    @Test("a slow reader holds the writer back: nothing buffers without bound")
    func backpressure() async throws {
        let catalog = CatalogService()
        try await withInProcessServer([catalog]) { client in
            let api = Catalog_ProductService.Client(wrapping: client)
            var request = Catalog_ListProductsRequest()
            request.limit = 200
            let products = try await api.listProducts(request)
            var iterator = products.makeAsyncIterator()
            _ = try await iterator.next()
            try await Task.sleep(for: .milliseconds(200))
            // The server may run ahead only by what the buffers between it and us hold.
            #expect(catalog.produced.value < 60)
            var count = 1
            while try await iterator.next() != nil { count += 1 }
            #expect(count == 200)
        }
    }

    @Test("a response over the receive limit fails with RESOURCE_EXHAUSTED")
    func sizeLimit() async throws {
        try await withInProcessServer([CatalogService()]) { client in
            let api = Catalog_ProductService.Client(wrapping: client)
            var request = Catalog_GetProductRequest()
            request.productID = "abcdef"  // a 6,000-byte name
            var options = CallOptions()
            options.maxResponseMessageBytes = 1_000
            let error = await #expect(throws: RPCError.self) { try await api.getProduct(request, options: options) }
            #expect(error?.code == .resourceExhausted)
            let product = try await api.getProduct(request)
            #expect(product.name.count == 6_000)
        }
    }
    @Test("a writer-driven call's request producer returns once the call is released unfinished")
    func producerReleased() async throws {
        let channel = RequestChannel<Int>()
        let producer = Task { try await channel.producer(MessageWriter { _ in }) }
        do {
            // The call's response, dropped without the requests ever being finished.
            _ = CallLifetime(end: OneShot(), cancel: {}, released: { channel.finish() })
        }
        try await producer.value
        await #expect(throws: CancellationError.self) { try await channel.send(1, compressed: true) }
    }

    @Test("per-message compression flags arrive as they would over the wire")
    func perMessageCompression() async throws {
        try await withInProcessServer([CompressionEchoService()]) { client in
            let gzip = try await exchangeWithCompressionEcho(client, gzip: true, requests: [
                (compressed: true, plainReply: false), (compressed: false, plainReply: true),
            ])
            #expect(gzip.map(\.request) == ["compressed", "plain"])
            #expect(gzip.map(\.replyCompressed) == [true, false])
            let identity = try await exchangeWithCompressionEcho(client, gzip: false, requests: [(compressed: true, plainReply: false)])
            #expect(identity.map(\.request) == ["plain"])
        }
    }
}
