import SeedServices
import Sluice
import SluiceProto
import SluiceTestSupport
import Testing

/// Rejects calls without the right `x-api-key`, as the Spooled seed requires.
struct APIKeyInterceptor: ServerInterceptor {
    let key: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard request.metadata.first("x-api-key") == key else {
            throw RPCError(code: .unauthenticated, message: "invalid API key")
        }
        return try await next(request, context)
    }
}

/// Records what every call carried, for any kind of call.
struct RecordingInterceptor: ClientInterceptor {
    let log: Observed<[String]>

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.add("x-api-key", "secret")
        let log = self.log
        log.update { $0.append("start \(context.method.method) \(context.method.kind)") }
        let producer = request.producer
        request.producer = { writer in
            try await producer(MessageWriter { message in
                log.update { $0.append("send") }
                try await writer.write(message)
            })
        }
        let response = try await next(request, context)
        Task {
            let end = await response.end.value
            log.update { $0.append("end \(end.error?.code.description ?? "OK")") }
        }
        return response
    }
}

@Suite("Interceptors", .timeLimit(.minutes(1)))
struct InterceptorTests {
    @Test("a server interceptor short-circuits with UNAUTHENTICATED")
    func serverShortCircuit() async throws {
        try await withInProcessServer([UserService()], serverInterceptors: [APIKeyInterceptor(key: "secret")]) { client in
            let api = Venta_User_UserService.Client(wrapping: client)
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            let error = await #expect(throws: RPCError.self) { try await api.getUser(request) }
            #expect(error?.code == .unauthenticated)
            let user = try await api.getUser(request, metadata: ["x-api-key": "secret"])
            #expect(user.name == "John Doe")
        }
    }

    @Test("a client interceptor sees metadata, each message and the end of every call kind")
    func clientSeesEverything() async throws {
        let log = Observed<[String]>([])
        try await withInProcessServer([UserService(), ChatService()], serverInterceptors: [APIKeyInterceptor(key: "secret")],
                                      clientInterceptors: [RecordingInterceptor(log: log)]) { client in
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            _ = try await Venta_User_UserService.Client(wrapping: client).getUser(request)
            let chat = try await Chat_ChatService.Client(wrapping: client).chat()
            try await chat.requests.send(Chat_ChatMessage())
            try await chat.requests.send(Chat_ChatMessage())
            chat.requests.finish()
            for try await _ in chat.responses {}
        }
        try await waitWhile { log.value.filter({ $0.hasPrefix("end") }).count < 2 }
        let entries = log.value
        #expect(entries.contains("start GetUser unary"))
        #expect(entries.contains("start Chat bidirectionalStreaming"))
        #expect(entries.filter { $0 == "send" }.count == 3)
        #expect(entries.filter { $0 == "end OK" }.count == 2)
    }
}
