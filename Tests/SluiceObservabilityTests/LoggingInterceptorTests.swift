import Logging
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceTestSupport
import Testing

/// Fails every call before its handler with `error`, for the failed-call events.
struct Refusing: ServerInterceptor {
    let error: RPCError

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        throw error
    }
}

/// A server with the logging interceptor (then `inner`) on loopback, and a client with its
/// own; both log to `logs`.
func withLoggedCalls<T: Sendable>(
    _ logs: LogRecorder, services: [any RegistrableService] = [CatalogService(), ChatService()],
    inner: [any ServerInterceptor] = [], policy: MetadataLogPolicy = MetadataLogPolicy(),
    level: Logger.Level = .info, loggerLevel: Logger.Level = .trace, _ body: (GRPCClient) async throws -> T
) async throws -> T {
    let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let serverLogging = ServerLoggingInterceptor(logger: logs.logger(label: "server", level: loggerLevel), level: level,
                                                 metadataPolicy: policy)
    let server = GRPCServer(transport: transport, services: services, interceptors: [serverLogging] + inner)
    let serving = Task { try await server.serve() }
    defer { serving.cancel() }
    let port = try #require(try await server.listeningAddress.port)
    let clientLogging = ClientLoggingInterceptor(logger: logs.logger(label: "client", level: loggerLevel), level: level,
                                                 metadataPolicy: policy, target: "ipv4:127.0.0.1:\(port)")
    let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                            interceptors: [clientLogging])
    defer { Task { await client.close() } }
    return try await body(client)
}

extension LogRecorder.Record {
    func field(_ key: String) -> String? { metadata[key].map { "\($0)" } }
    var side: String? { field(CallLogKeys.side) }
}

@Suite("Logging interceptors: one event per call", .timeLimit(.minutes(1)))
struct LoggingInterceptorTests {
    @Test("a unary call: method, status, counts and bytes on both sides, trace id, allowed metadata, secrets redacted")
    func unary() async throws {
        let logs = LogRecorder()
        let policy = MetadataLogPolicy(logging: ["x-tenant", "Authorization", "x-token-bin"])
        try await withLoggedCalls(logs, policy: policy) { client in
            let metadata: Metadata = ["x-trace-id": "trace-42", "x-tenant": "acme", "authorization": "Bearer secret",
                                      "cookie": "session=1", "x-token-bin": .binary([1, 2, 3])]
            var request = Catalog_GetProductRequest()
            request.productID = "p1"
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(request, metadata: metadata)
            try await waitWhile { logs.all.count < 2 }
        }
        let client = try #require(logs.all.first { $0.side == "client" })
        let server = try #require(logs.all.first { $0.side == "server" })
        for event in [client, server] {
            #expect(event.level == .info)
            #expect(event.message == "gRPC call")
            #expect(event.field(CallLogKeys.method) == "catalog.ProductService/GetProduct")
            #expect(event.field(CallLogKeys.status) == "OK")
            #expect(event.field(CallLogKeys.requestMessages) == "1")
            #expect(event.field(CallLogKeys.responseMessages) == "1")
            #expect(event.field(CallLogKeys.traceID) == "trace-42")
            #expect(event.field(CallLogKeys.metadataPrefix + "x-tenant") == "acme")
            #expect(event.field(CallLogKeys.metadataPrefix + "authorization") == "[redacted]")
            #expect(event.field(CallLogKeys.metadataPrefix + "x-token-bin") == "[redacted]")
            // Not named by the policy: not logged at all.
            #expect(event.field(CallLogKeys.metadataPrefix + "cookie") == nil)
            #expect(Double(event.field(CallLogKeys.durationMilliseconds) ?? "") != nil)
            #expect(!"\(event.metadata)".contains("secret"))
        }
        // Both sides counted the same bytes: the request's serialized size, and the response's.
        #expect(client.field(CallLogKeys.requestBytes) == server.field(CallLogKeys.requestBytes))
        #expect(client.field(CallLogKeys.responseBytes) == server.field(CallLogKeys.responseBytes))
        #expect(Int(client.field(CallLogKeys.requestBytes) ?? "") == 4)  // field 1, "p1"
        #expect(client.field(CallLogKeys.attempts) == "1")
        #expect(client.field(CallLogKeys.peer)?.hasPrefix("ipv4:127.0.0.1:") == true)
        #expect(server.field(CallLogKeys.peer)?.contains("127.0.0.1") == true)
    }

    @Test("a failed call is logged at warning with its status and message, on both sides")
    func failure() async throws {
        let logs = LogRecorder()
        try await withLoggedCalls(logs, inner: [Refusing(error: RPCError(code: .permissionDenied, message: "no access"))]) { client in
            await #expect(throws: RPCError.self) {
                _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            }
            try await waitWhile { logs.all.count < 2 }
        }
        #expect(logs.all.count == 2)
        for event in logs.all {
            #expect(event.level == .warning)
            #expect(event.message == "gRPC call failed")
            #expect(event.field(CallLogKeys.status) == "PERMISSION_DENIED")
            #expect(event.field(CallLogKeys.statusMessage) == "no access")
        }
    }

    @Test("a bidirectional call counts every message each way; a traceparent gives the trace id")
    func streaming() async throws {
        let logs = LogRecorder()
        try await withLoggedCalls(logs) { client in
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let chat = Chat_ChatService.Client(wrapping: client)
            var messages: [Chat_ChatMessage] = []
            for text in ["a", "bb", "ccc"] {
                var message = Chat_ChatMessage()
                message.text = text
                messages.append(message)
            }
            let replies = try await chat.chat(requests: AsyncArray(messages), metadata: ["traceparent": .string(traceparent)])
            var count = 0
            for try await _ in replies { count += 1 }
            #expect(count == 3)
            try await waitWhile { logs.all.count < 2 }
        }
        for event in logs.all {
            #expect(event.field(CallLogKeys.method) == "chat.ChatService/Chat")
            #expect(event.field(CallLogKeys.requestMessages) == "3")
            #expect(event.field(CallLogKeys.responseMessages) == "3")
            #expect(event.field(CallLogKeys.traceID) == "4bf92f3577b34da6a3ce929d0e0e4736")
        }
    }

    @Test("at a level below the logger's, nothing is written per call")
    func quietBelowLevel() async throws {
        let logs = LogRecorder()
        try await withLoggedCalls(logs, level: .debug, loggerLevel: .info) { client in
            for _ in 0..<5 { _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest()) }
        }
        #expect(logs.all.isEmpty)
    }

    @Test("a logger at warning drops successful calls but still gets failures, with their trace id")
    func quietButFailures() async throws {
        let logs = LogRecorder()
        try await withLoggedCalls(logs, inner: [Refusing(error: RPCError(code: .permissionDenied, message: "no access"))],
                                  loggerLevel: .warning) { client in
            await #expect(throws: RPCError.self) {
                _ = try await Catalog_ProductService.Client(wrapping: client)
                    .getProduct(Catalog_GetProductRequest(), metadata: ["x-trace-id": "trace-7"])
            }
            try await waitWhile { logs.all.count < 2 }
        }
        #expect(logs.all.count == 2)
        #expect(logs.all.allSatisfy { $0.level == .warning && $0.field(CallLogKeys.traceID) == "trace-7" })
        let succeeding = LogRecorder()
        try await withLoggedCalls(succeeding, loggerLevel: .warning) { client in
            for _ in 0..<5 { _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest()) }
        }
        #expect(succeeding.all.isEmpty)
    }
}
