import EchoAPI
import Sluice

/// The Echo service: what the generated `Echo_Echo.ServiceProtocol` asks for.
public struct EchoService: Echo_Echo.ServiceProtocol {
    public init() {}

    public func get(request: Echo_EchoRequest, context: ServerContext) async throws -> Echo_EchoResponse {
        guard !request.text.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "text is empty")
        }
        return .reply(request.text)
    }

    public func expand(request: Echo_EchoRequest, responses: MessageWriter<Echo_EchoResponse>, context: ServerContext) async throws {
        for word in request.text.split(separator: " ") {
            try await responses.write(.reply(String(word)))
        }
    }

    public func collect(requests: RequestStream<Echo_EchoRequest>, context: ServerContext) async throws -> Echo_EchoResponse {
        var words: [String] = []
        for try await request in requests { words.append(request.text) }
        return .reply(words.joined(separator: " "))
    }

    public func update(requests: RequestStream<Echo_EchoRequest>, responses: MessageWriter<Echo_EchoResponse>, context: ServerContext) async throws {
        for try await request in requests {
            try await responses.write(.reply(request.text.uppercased()))
        }
    }
}

extension Echo_EchoResponse {
    /// A response carrying `text`.
    public static func reply(_ text: String) -> Self {
        var response = Self()
        response.text = text
        return response
    }
}

extension Echo_EchoRequest {
    /// A request carrying `text`.
    public static func say(_ text: String) -> Self {
        var request = Self()
        request.text = text
        return request
    }
}

/// Calls each of the four methods once through any client, real or fake, and reports what
/// came back: the code the tests check against fakes, and the demo runs against servers.
public func exerciseEcho(_ echo: some Echo_Echo.ClientProtocol) async throws -> [String] {
    var lines: [String] = []
    lines.append("unary          get(\"hello\") -> \(try await echo.get(.say("hello")).text)")

    var words: [String] = []
    for try await response in try await echo.expand(.say("one two three")) { words.append(response.text) }
    lines.append("server stream  expand(\"one two three\") -> \(words)")

    let collected = try await echo.collect(requests: AsyncStream { continuation in
        for word in ["a", "b", "c"] { continuation.yield(.say(word)) }
        continuation.finish()
    })
    lines.append("client stream  collect([a, b, c]) -> \(collected.text)")

    let call = try await echo.update()
    var replies = call.responses.makeAsyncIterator()
    var answers: [String] = []
    for text in ["ping", "pong"] {
        try await call.requests.send(.say(text))
        if let reply = try await replies.next() { answers.append(reply.text) }
    }
    call.requests.finish()
    while let reply = try await replies.next() { answers.append(reply.text) }
    lines.append("bidirectional  update(ping, pong) -> \(answers)")
    return lines
}
