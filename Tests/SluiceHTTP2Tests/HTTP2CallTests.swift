import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

@Suite("Calls over HTTP/2 on loopback", .timeLimit(.minutes(1)))
struct HTTP2CallTests {
    @Test("all four kinds of call, with metadata and trailers", arguments: [
        SocketTarget.host("127.0.0.1", port: 0), .host("::1", port: 0),
        .unixDomainSocket("/tmp/sluice-test-\\(getpid()).sock"),
    ])
    func fourKinds(target: SocketTarget) async throws {
        try await withHTTP2Server([UserService(), CatalogService(), FileService(), ChatService()], target: target) { client, _ in
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            let user = try await Venta_User_UserService.Client(wrapping: client).getUser(request, metadata: ["x-trace-id": "t1"])
            #expect(user.name == "John Doe")
            #expect(user.headers.first("x-served-by") == "users-1")
            #expect(user.trailers.first("x-cost") == "3")

            var list = Catalog_ListProductsRequest()
            list.limit = 100
            var count = 0
            for try await _ in try await Catalog_ProductService.Client(wrapping: client).listProducts(list) { count += 1 }
            #expect(count == 100)

            let files = Files_FileService.Client(wrapping: client)
            let upload = try await files.uploadFile()
            for _ in 0..<10 {
                var chunk = Files_FileChunk()
                chunk.content = Data(count: 1000)
                try await upload.requests.send(chunk)
            }
            upload.requests.finish()
            let uploaded = try await upload.response
            #expect(uploaded.size == 10_000)

            let chat = try await Chat_ChatService.Client(wrapping: client).chat()
            var responses = chat.responses.makeAsyncIterator()
            var message = Chat_ChatMessage()
            message.text = "ping"
            try await chat.requests.send(message)
            let pong = try await responses.next()
            #expect(pong?.text == "PING")
            chat.requests.finish()
            let last = try await responses.next()
            #expect(last == nil)
        }
    }

    @Test("errors, unimplemented methods and deadlines")
    func failures() async throws {
        let catalog = CatalogService()
        try await withHTTP2Server([UserService(), catalog]) { client, _ in
            var request = Venta_User_GetUserRequest()
            request.id = "999"
            let notFound = await #expect(throws: RPCError.self) { try await Venta_User_UserService.Client(wrapping: client).getUser(request) }
            #expect(notFound?.code == .notFound)
            #expect(notFound?.message == "user 999 not found")
            #expect(notFound?.metadata.first("x-lookup") == "miss")
            // Rich details travel in grpc-status-details-bin and come back typed.
            #expect(notFound?.detail(Google_Rpc_ResourceInfo.self)?.resourceName == "users/999")
            #expect(notFound?.detail(Google_Rpc_RetryInfo.self)?.retryDelay.seconds == 2)
            #expect(notFound?.details.count == 2)
            #expect(notFound?.metadata.first("grpc-status-details-bin") == nil)

            let orders = Order_OrderService.Client(wrapping: client)
            let unimplemented = await #expect(throws: RPCError.self) { try await orders.getUserOrders(Order_GetUserOrdersRequest()) }
            #expect(unimplemented?.code == .unimplemented)

            let api = Catalog_ProductService.Client(wrapping: client)
            let late = await #expect(throws: RPCError.self) {
                try await api.getRecommendations(Catalog_GetRecommendationsRequest(), options: CallOptions(timeout: .seconds(3)))
            }
            #expect(late?.code == .deadlineExceeded)
            // The deadline is long enough for the handler to start even on a loaded machine.
            #expect(catalog.started.value)
            try await waitWhile { !catalog.cancelled.value }
            #expect(catalog.cancelled.value, "the server handler should be cancelled by the deadline")
        }
    }

    @Test("dropping a response stream resets it and cancels the server handler")
    func cancellation() async throws {
        let catalog = CatalogService()
        try await withHTTP2Server([catalog]) { client, _ in
            var request = Catalog_ListProductsRequest()
            request.limit = 10_000_000
            do {
                let products = try await Catalog_ProductService.Client(wrapping: client).listProducts(request)
                var iterator = products.makeAsyncIterator()
                _ = try await iterator.next()
            }
            try await waitWhile { !catalog.cancelled.value }
            #expect(catalog.cancelled.value)
            // Flow control held the server back: it got nowhere near the end.
            #expect(catalog.produced.value < 100_000)
        }
    }

    @Test("concurrent calls share connections")
    func concurrency() async throws {
        try await withHTTP2Server([UserService()]) { client, _ in
            let api = Venta_User_UserService.Client(wrapping: client)
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        var request = Venta_User_GetUserRequest()
                        request.id = "123"
                        return try await api.getUser(request).name
                    }
                }
                var names = 0
                for try await name in group where name == "John Doe" { names += 1 }
                #expect(names == 200)
            }
        }
    }
    @Test("a response over the client's receive limit fails the call with RESOURCE_EXHAUSTED")
    func responseOverLimit() async throws {
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.maxReceiveMessageSize = 100
        try await withHTTP2Server([ChatService()], clientConfiguration: configuration) { client, _ in
            var message = Chat_ChatMessage()
            message.text = String(repeating: "a", count: 1_000)
            let call = try await Chat_ChatService.Client(wrapping: client).chat(metadata: [:], options: .defaults)
            try await call.requests.send(message)
            call.requests.finish()
            let error = await #expect(throws: RPCError.self) { for try await _ in call.responses {} }
            #expect(error?.code == .resourceExhausted, "\(String(describing: error))")
        }
    }

    @Test("a request writer shared by several tasks delivers every message")
    func concurrentSenders() async throws {
        try await withHTTP2Server([FileService()]) { client, _ in
            let upload = try await Files_FileService.Client(wrapping: client).uploadFile()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var chunk = Files_FileChunk()
                        chunk.content = Data(count: 1_000)
                        for _ in 0..<200 { try await upload.requests.send(chunk) }
                    }
                }
                try await group.waitForAll()
            }
            upload.requests.finish()
            let status = try await upload.response
            #expect(status.size == 8 * 200 * 1_000)
        }
    }

    @Test("per-message compression: each message's flag reaches the peer, in both directions")
    func perMessageCompression() async throws {
        try await withHTTP2Server([CompressionEchoService()]) { client, _ in
            let gzip = try await exchangeWithCompressionEcho(client, gzip: true, requests: [
                (compressed: true, plainReply: false), (compressed: false, plainReply: true),
                (compressed: true, plainReply: true), (compressed: false, plainReply: false),
            ])
            #expect(gzip.map(\.request) == ["compressed", "plain", "compressed", "plain"])
            #expect(gzip.map(\.replyCompressed) == [true, false, false, true])
            // Without an encoding on the call nothing is compressed, whatever the flag asks.
            let identity = try await exchangeWithCompressionEcho(client, gzip: false, requests: [(compressed: true, plainReply: false)])
            #expect(identity.map(\.request) == ["plain"])
        }
    }
}
