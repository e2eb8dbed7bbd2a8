import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Synchronization
import Testing

/// Reads every chunk, then fails the first `failures` attempts with UNAVAILABLE before
/// answering: only a replay of every request can make the later attempt's size right.
struct FlakyUploadService: Files_FileService.ServiceProtocol {
    let failures: Int
    let attempts = Observed<[Int64]>([])

    func uploadFile(requests: RequestStream<Files_FileChunk>, context: ServerContext) async throws -> Files_UploadStatus {
        var status = Files_UploadStatus()
        for try await chunk in requests { status.size += Int64(chunk.content.count) }
        let index = attempts.update { $0.append(status.size); return $0.count - 1 }
        if index < failures { throw RPCError(code: .unavailable, message: "attempt \(index) shed") }
        status.success = true
        return status
    }
}

/// Echoes in upper case. With `failFirstAfter` n, the first attempt reads n messages and
/// fails with UNAVAILABLE before answering any (uncommitted); with `answerThenFail`, the
/// first attempt answers its first message and then fails (committed).
struct FlakyChatService: Chat_ChatService.ServiceProtocol {
    var failFirstAfter: Int?
    var answerThenFail = false
    let attempts = Observed<[String]>([])

    func chat(requests: RequestStream<Chat_ChatMessage>, responses: MessageWriter<Chat_ChatMessage>, context: ServerContext) async throws {
        let index = attempts.update { $0.append(""); return $0.count - 1 }
        var read = 0
        for try await message in requests {
            read += 1
            attempts.update { $0[index] += message.text }
            if index == 0, let failFirstAfter {
                // Silent until it fails: nothing commits this attempt.
                if read == failFirstAfter { throw RPCError(code: .unavailable, message: "first attempt shed") }
                continue
            }
            var echo = message
            echo.text = message.text.uppercased()
            try await responses.write(echo)
            if index == 0 && answerThenFail { throw RPCError(code: .unavailable, message: "failed after answering") }
        }
    }
}

private func streamingRetryConfig(maxAttempts: Int = 4) throws -> ServiceConfig {
    try ServiceConfig(json: """
        {"methodConfig": [{
          "name": [{"service": "files.FileService"}, {"service": "chat.ChatService"}],
          "retryPolicy": {"maxAttempts": \(maxAttempts), "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                          "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
        }]}
        """)
}

/// A server on loopback with `services` (and `interceptors`), and a client under the
/// streaming retry config.
private func withStreamingRetries<T: Sendable>(
    _ services: [any RegistrableService], interceptors: [any ServerInterceptor] = [],
    limits: RetryBufferLimits = RetryBufferLimits(), _ body: (GRPCClient) async throws -> T
) async throws -> T {
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
    let serving = Task { try await server.serve() }
    defer { serving.cancel() }
    let port = try #require(try await server.listeningAddress.port)
    let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                            serviceConfig: try streamingRetryConfig(), retryBufferLimits: limits)
    defer { Task { await client.close() } }
    return try await body(client)
}

private func chunk(_ index: Int, bytes: Int = 1024) -> Files_FileChunk {
    var chunk = Files_FileChunk()
    chunk.offset = Int64(index * bytes)
    chunk.content = Data(repeating: UInt8(truncatingIfNeeded: index), count: bytes)
    return chunk
}

private func chatMessage(_ text: String) -> Chat_ChatMessage {
    var message = Chat_ChatMessage()
    message.text = text
    return message
}

@Suite("Retries of streaming calls (gRFC A6)", .timeLimit(.minutes(2)))
struct StreamingRetryTests {
    @Test("client streaming from a writer: every request is replayed to the next attempt")
    func clientStreamingReplays() async throws {
        let service = FlakyUploadService(failures: 2)
        try await withStreamingRetries([service]) { client in
            let files = Files_FileService.Client(wrapping: client)
            let call = try await files.uploadFile()
            for index in 0..<20 { try await call.requests.send(chunk(index)) }
            call.requests.finish()
            let response = try await call.response
            #expect(response.message.size == 20 * 1024)
            #expect(response.attempts == 3)
            // Each attempt read all twenty chunks.
            #expect(service.attempts.value == [Int64](repeating: 20_480, count: 3))
        }
    }

    @Test("client streaming from a sequence, failed before the handler: the server sees grpc-previous-rpc-attempts")
    func clientStreamingFromSequence() async throws {
        let faults = FaultInjector { index in index < 1 ? RPCError(code: .unavailable, message: "shed") : nil }
        try await withStreamingRetries([FileService()], interceptors: [faults]) { client in
            let files = Files_FileService.Client(wrapping: client)
            let response = try await files.uploadFile(requests: AsyncArray((0..<5).map { chunk($0) }))
            #expect(response.message.size == 5 * 1024)
            #expect(response.attempts == 2)
            #expect(faults.attempts.map(\.previousAttempts) == [nil, "1"])
        }
    }

    @Test("bidirectional: an attempt that fails before answering is replayed, and the call goes on live")
    func bidirectionalReplays() async throws {
        let service = FlakyChatService(failFirstAfter: 2)
        try await withStreamingRetries([service]) { client in
            let chat = Chat_ChatService.Client(wrapping: client)
            let call = try await chat.chat()
            try await call.requests.send(chatMessage("a"))
            try await call.requests.send(chatMessage("b"))
            var replies = call.responses.makeAsyncIterator()
            #expect(try await replies.next()?.text == "A")
            #expect(try await replies.next()?.text == "B")
            // Written after the retry: it reaches the committed attempt directly.
            try await call.requests.send(chatMessage("c"))
            #expect(try await replies.next()?.text == "C")
            call.requests.finish()
            #expect(try await replies.next() == nil)
            #expect(call.responses.attempts == 2)
            #expect(service.attempts.value == ["ab", "abc"])
        }
    }

    @Test("bidirectional: once the server answered, a failure is the caller's")
    func bidirectionalCommitsOnResponse() async throws {
        let service = FlakyChatService(answerThenFail: true)
        try await withStreamingRetries([service]) { client in
            let chat = Chat_ChatService.Client(wrapping: client)
            let call = try await chat.chat()
            try await call.requests.send(chatMessage("a"))
            var replies = call.responses.makeAsyncIterator()
            #expect(try await replies.next()?.text == "A")
            await #expect(throws: RPCError.self) { _ = try await replies.next() }
            call.requests.finish()
            #expect(call.responses.attempts == 1)
            #expect(service.attempts.value.count == 1)
        }
    }

    @Test("requests past the per-call or per-client buffer limit commit the call: no retry", arguments: [
        RetryBufferLimits(perCall: 4096, perChannel: 16 << 20),
        RetryBufferLimits(perCall: 256 << 10, perChannel: 4096),
    ])
    func bufferLimitCommits(limits: RetryBufferLimits) async throws {
        let service = FlakyUploadService(failures: 1)
        try await withStreamingRetries([service], limits: limits) { client in
            let files = Files_FileService.Client(wrapping: client)
            let call = try await files.uploadFile()
            for index in 0..<10 { try await call.requests.send(chunk(index)) }
            call.requests.finish()
            await #expect(throws: RPCError.self) { _ = try await call.response }
            // The one attempt still got every chunk: past the limit the call went on unbuffered.
            #expect(service.attempts.value == [10_240])
            #expect(client.retryBufferBytesInUse == 0)
        }
    }

    @Test("within the limits, the same upload is retried, and the buffer is given back")
    func bufferWithinLimits() async throws {
        let service = FlakyUploadService(failures: 1)
        try await withStreamingRetries([service], limits: RetryBufferLimits(perCall: 64 << 10, perChannel: 64 << 10)) { client in
            let files = Files_FileService.Client(wrapping: client)
            let response = try await files.uploadFile(requests: AsyncArray((0..<10).map { chunk($0) }))
            #expect(response.attempts == 2)
            #expect(service.attempts.value == [10_240, 10_240])
            #expect(client.retryBufferBytesInUse == 0)
        }
    }

    @Test("cancelling a retried streaming call during its backoff ends it as CANCELLED at once")
    func cancelDuringBackoff() async throws {
        let faults = FaultInjector { _ in RPCError(code: .unavailable, message: "shed") }
        let config = try ServiceConfig(json: """
            {"methodConfig": [{"name": [{"service": "chat.ChatService"}],
              "retryPolicy": {"maxAttempts": 5, "initialBackoff": "10s", "maxBackoff": "10s",
                              "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [ChatService()], interceptors: [faults])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)), serviceConfig: config)
        defer { Task { await client.close() } }
        let call = try await Chat_ChatService.Client(wrapping: client).chat()
        try await call.requests.send(chatMessage("a"))
        try await waitWhile { faults.attempts.isEmpty }
        let started = ContinuousClock.now
        var replies = call.responses.makeAsyncIterator()
        let reading = Task { try await replies.next() }
        try await Task.sleep(for: .milliseconds(100))
        reading.cancel()
        await #expect(throws: (any Error).self) { _ = try await reading.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(faults.attempts.count == 1)
    }
}
