import EchoAPI
import EchoServer
import Sluice
import Testing

/// A fake of the generated client protocol, one answer per call kind, with no server.
struct FakeEcho: Echo_Echo.ClientProtocol {
    func get(_ request: Echo_EchoRequest, metadata: Metadata, options: CallOptions) async throws -> UnaryResponse<Echo_EchoResponse> {
        UnaryResponse(message: .reply("fake " + request.text), headers: [:], trailers: [:])
    }

    func expand(_ request: Echo_EchoRequest, metadata: Metadata, options: CallOptions) async throws -> StreamingResponse<Echo_EchoResponse> {
        StreamingResponse(messages: [.reply("x"), .reply("y")], trailers: ["count": "2"])
    }

    func collect<Requests: AsyncSequence & Sendable>(requests: Requests, metadata: Metadata, options: CallOptions) async throws -> UnaryResponse<Echo_EchoResponse> where Requests.Element == Echo_EchoRequest {
        var count = 0
        for try await _ in requests { count += 1 }
        return UnaryResponse(message: .reply("\(count) requests"), headers: [:], trailers: [:])
    }

    func collect(metadata: Metadata, options: CallOptions) async throws -> ClientStreamingCall<Echo_EchoRequest, Echo_EchoResponse> {
        ClientStreamingCall { requests in
            var count = 0
            for try await _ in requests { count += 1 }
            return UnaryResponse(message: .reply("\(count) requests"), headers: [:], trailers: [:])
        }
    }

    func update<Requests: AsyncSequence & Sendable>(requests: Requests, metadata: Metadata, options: CallOptions) async throws -> StreamingResponse<Echo_EchoResponse> where Requests.Element == Echo_EchoRequest {
        StreamingResponse(messages: requests.map { Echo_EchoResponse.reply("re: " + $0.text) })
    }

    func update(metadata: Metadata, options: CallOptions) async throws -> BidirectionalStreamingCall<Echo_EchoRequest, Echo_EchoResponse> {
        BidirectionalStreamingCall { requests, responses in
            for try await request in requests { try await responses.write(.reply("re: " + request.text)) }
            return [:]
        }
    }
}

@Suite("Echo")
struct EchoTests {
    @Test("code that uses the client works against a fake of each call kind")
    func fakes() async throws {
        let lines = try await exerciseEcho(FakeEcho())
        #expect(lines == [
            "unary          get(\"hello\") -> fake hello",
            "server stream  expand(\"one two three\") -> [\"x\", \"y\"]",
            "client stream  collect([a, b, c]) -> 3 requests",
            "bidirectional  update(ping, pong) -> [\"re: ping\", \"re: pong\"]",
        ])
    }

    @Test("a fake can fail a call with a status")
    func failingFake() async throws {
        let response = StreamingResponse<Echo_EchoResponse>(messages: [.reply("partial")],
                                                            error: RPCError(code: .unavailable, message: "try later"))
        var received: [String] = []
        await #expect(throws: RPCError(code: .unavailable, message: "try later")) {
            for try await message in response { received.append(message.text) }
        }
        #expect(received == ["partial"])
    }

    @Test("the service answers each kind over the in-process transport")
    func inProcess() async throws {
        let (clientSide, serverSide) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverSide, services: [EchoService()])
        let serving = Task { try await server.serve() }
        let lines = try await withGRPCClient(transport: clientSide) { client in
            try await exerciseEcho(Echo_Echo.Client(wrapping: client))
        }
        #expect(lines == [
            "unary          get(\"hello\") -> hello",
            "server stream  expand(\"one two three\") -> [\"one\", \"two\", \"three\"]",
            "client stream  collect([a, b, c]) -> a b c",
            "bidirectional  update(ping, pong) -> [\"PING\", \"PONG\"]",
        ])
        serving.cancel()
        try await serving.value
    }

    @Test("an empty request fails with INVALID_ARGUMENT")
    func invalidArgument() async throws {
        let (clientSide, serverSide) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverSide, services: [EchoService()])
        let serving = Task { try await server.serve() }
        _ = try await withGRPCClient(transport: clientSide) { client in
            await #expect(throws: RPCError(code: .invalidArgument, message: "text is empty")) {
                _ = try await Echo_Echo.Client(wrapping: client).get(.say(""))
            }
        }
        serving.cancel()
        try await serving.value
    }
}
