import Logging
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceTestSupport
import Synchronization
import Testing

@Suite("The transports and the client log their own events", .serialized, .timeLimit(.minutes(1)))
struct TransportLoggingTests {
    /// A server on loopback logging to `logs`, with `configure` applied to its configuration.
    func withServer(logs: LogRecorder, interceptors: [any ServerInterceptor] = [],
                    configure: (inout HTTP2ServerTransport.Configuration) -> Void = { _ in },
                    _ body: (GRPCServer, Int) async throws -> Void) async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.logger = logs.logger(label: "server")
        configure(&configuration)
        let server = GRPCServer(transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0), configuration: configuration),
                                services: [CatalogService(), ChatService()], interceptors: interceptors)
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        try await body(server, try #require(try await server.listeningAddress.port))
    }

    @Test("connects, the server's GOAWAY on shutdown, and closes, on both sides, with stable keys")
    func connectionLifecycle() async throws {
        let serverLogs = LogRecorder()
        let clientLogs = LogRecorder()
        let port = Mutex(0)
        try await withServer(logs: serverLogs) { server, serverPort in
            port.withLock { $0 = serverPort }
            var configuration = HTTP2ClientTransport.Configuration()
            configuration.logger = clientLogs.logger(label: "client")
            let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: serverPort), configuration: configuration))
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            server.beginGracefulShutdown()
            try await waitWhile { !clientLogs.all.contains { $0.message == "connection closed" } }
            try await waitWhile { !serverLogs.all.contains { $0.message == "connection closed" } }
            await client.close()
        }
        let client = clientLogs.all.filter { $0.level == .debug }
        #expect(client.map(\.message).prefix(2) == ["connecting", "connected"])
        let serverPort = port.withLock { $0 }
        #expect(client.allSatisfy { $0.metadata[LogKeys.target] == "127.0.0.1:\(serverPort)" })
        let goAway = try #require(client.first { $0.message == "GOAWAY received" })
        #expect(goAway.metadata[LogKeys.goAwayCode] == "NO_ERROR")
        #expect(goAway.metadata[LogKeys.goAwayDebug] == "server_shutdown")

        let server = serverLogs.all
        #expect(server.first?.message == "connection accepted")
        #expect(server.first?.metadata[LogKeys.peer].map { "\($0)".hasPrefix("ipv4:127.0.0.1:") } == true)
        let sent = server.filter { $0.message == "GOAWAY sent" }.compactMap { $0.metadata[LogKeys.goAwayDebug].map { "\($0)" } }
        #expect(sent.first == "server_shutdown")
        #expect(server.last?.message == "connection closed")
    }

    @Test("a client pinging too often: each strike at trace, then GOAWAY ENHANCE_YOUR_CALM on both sides")
    func pingStrikes() async throws {
        let serverLogs = LogRecorder()
        let clientLogs = LogRecorder()
        try await withServer(logs: serverLogs) { _, port in
            var configuration = HTTP2ClientTransport.Configuration()
            configuration.logger = clientLogs.logger(label: "client")
            // Every 20 ms, with no call open: the server's default policy allows one per 2 h.
            configuration.keepalive = ClientKeepalive(time: .milliseconds(20))
            configuration.keepalive.permitWithoutCalls = true
            let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port), configuration: configuration))
            // The call only opens the connection: on a busy machine the pings may end the
            // connection before the call does, which is what this test is about anyway.
            _ = try? await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            try await waitWhile { !clientLogs.all.contains { $0.message == "GOAWAY received" } }
            await client.close()
        }
        let strikes = serverLogs.all.filter { $0.message == "keepalive ping strike" }
        #expect(strikes.allSatisfy { $0.level == .trace })
        // Strikes reset when the server sends data (the first call's response may come after
        // a ping); the GOAWAY follows the third in a row (the default allows two).
        #expect(strikes.last?.metadata[LogKeys.pingStrikes] == "3")
        let sent = try #require(serverLogs.all.first { $0.message == "GOAWAY sent" })
        #expect(sent.metadata[LogKeys.goAwayCode] == "ENHANCE_YOUR_CALM")
        #expect(sent.metadata[LogKeys.goAwayDebug] == "too_many_pings")
        let received = try #require(clientLogs.all.first { $0.message == "GOAWAY received" })
        #expect(received.metadata[LogKeys.goAwayCode] == "ENHANCE_YOUR_CALM")
        #expect(clientLogs.all.contains { $0.message == "keepalive ping sent" && $0.level == .trace })
    }

    @Test("a refused connect is logged with the backoff before the next")
    func connectFailure() async throws {
        let logs = LogRecorder()
        var configuration = HTTP2ClientTransport.Configuration()
        configuration.logger = logs.logger()
        // Port 1: nothing listens there.
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: 1), configuration: configuration))
        await #expect(throws: RPCError.self) {
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
        }
        let failed = try #require(logs.all.first { $0.message == "connect failed" })
        #expect(failed.metadata[LogKeys.error] != nil)
        #expect(failed.metadata[LogKeys.delayMilliseconds].flatMap { Int("\($0)") }.map { $0 > 0 } == true)
        #expect(failed.metadata[LogKeys.target] == "127.0.0.1:1")
        await client.close()
    }

    @Test("each retry is logged with the attempt coming, the status that caused it and the delay")
    func retries() async throws {
        let logs = LogRecorder()
        let failing = FailTwice()
        try await withServer(logs: LogRecorder(), interceptors: [failing]) { _, port in
            let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10),
                                     backoffMultiplier: 1, retryableStatusCodes: [.unavailable])
            let client = GRPCClient(
                transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                serviceConfig: ServiceConfig(methodConfig: [
                    MethodConfig(names: [.init(service: "catalog.ProductService")], executionPolicy: .retry(policy)),
                ]),
                logger: logs.logger())
            _ = try await Catalog_ProductService.Client(wrapping: client).getProduct(Catalog_GetProductRequest())
            await client.close()
        }
        let retries = logs.all.filter { $0.message == "retrying" }
        #expect(retries.map { $0.metadata[LogKeys.attempt].map { "\($0)" } } == ["2", "3"])
        for retry in retries {
            #expect(retry.level == .debug)
            #expect(retry.metadata[LogKeys.method] == "catalog.ProductService/GetProduct")
            #expect(retry.metadata[LogKeys.status] == "UNAVAILABLE")
            #expect(retry.metadata[LogKeys.error] == "warming up")
            #expect(retry.metadata[LogKeys.delayMilliseconds].flatMap { Int("\($0)") }.map { (0...10).contains($0) } == true)
        }
    }
}

/// Fails the server's first two calls with UNAVAILABLE "warming up".
private final class FailTwice: ServerInterceptor {
    private let seen = Atomic<Int>(0)

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if seen.add(1, ordering: .relaxed).newValue <= 2 { throw RPCError(code: .unavailable, message: "warming up") }
        return try await next(request, context)
    }
}
