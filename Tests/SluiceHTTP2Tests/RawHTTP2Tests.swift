import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceTestSupport
import Synchronization
import Testing

/// Collects the connection-level frames a raw HTTP/2 client receives.
final class FrameRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    let frames = Mutex<[HTTP2Frame.FramePayload]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        frames.withLock { $0.append(frame.payload) }
        context.fireChannelRead(data)
    }

    var goAway: HTTP2ErrorCode? {
        frames.withLock { frames in
            for case .goAway(_, let code, _) in frames { return code }
            return nil
        }
    }
}

/// Collects what one stream receives.
final class StreamRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    let headers = Mutex<[HPACKHeaders]>([])

    let all = Mutex<[String]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        all.withLock { $0.append("\(payload)") }
        if case .headers(let payload) = payload {
            headers.withLock { $0.append(payload.headers) }
        }
    }
}

/// A bare HTTP/2 connection to `port`, for sending what a gRPC client would not. The pipeline
/// is set up before the connection reads anything, so the server's preface is not lost.
func rawConnection(port: Int, recorder: FrameRecorder) async throws -> (any Channel, NIOHTTP2Handler.StreamMultiplexer) {
    let multiplexer = OneShot<NIOHTTP2Handler.StreamMultiplexer>()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let mux = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()) { $0.close() }
                try channel.pipeline.syncOperations.addHandler(recorder)
                multiplexer.set(mux)
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    return (channel, await multiplexer.value)
}

@Suite("Raw HTTP/2 against the server", .timeLimit(.minutes(1)))
struct RawHTTP2Tests {
    func withServer(_ body: (Int) async throws -> Void) async throws {
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [UserService()])
        let serving = Task { try await server.serve() }
        let port = try await transport.listeningAddress.port ?? 0
        try await body(port)
        server.beginGracefulShutdown()
        try await serving.value
    }

    @Test("a request that is not application/grpc gets HTTP 415")
    func wrongContentType() async throws {
        try await withServer { port in
            let recorder = FrameRecorder()
            let (channel, multiplexer) = try await rawConnection(port: port, recorder: recorder)
            let stream = StreamRecorder()
            let streamChannel = try await multiplexer.createStreamChannel { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(stream) }
            }.get()
            var headers = HPACKHeaders()
            for (name, value) in [(":method", "POST"), (":scheme", "http"), (":path", "/venta.user.UserService/GetUser"),
                                  (":authority", "localhost"), ("content-type", "application/json")] {
                headers.add(name: name, value: value)
            }
            try await streamChannel.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: true)))
            try await waitWhile { stream.headers.withLock { $0.isEmpty } }
            #expect(stream.headers.withLock { $0.first?.first(name: ":status") } == "415",
                    "stream got \(stream.all.withLock { $0 }), connection got \(recorder.frames.withLock { $0 })")
            try await channel.close()
        }
    }

    @Test("a connection error makes the server send GOAWAY and close the connection")
    func connectionErrorCloses() async throws {
        try await withServer { port in
            // Bytes, not frames: swift-nio-http2 would refuse to send a zero window increment.
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            var bytes = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            bytes.writeBytes([0, 0, 0, 0x4, 0, 0, 0, 0, 0])  // SETTINGS, empty
            // WINDOW_UPDATE on the connection with increment 0: a connection error (RFC 9113 6.9).
            bytes.writeBytes([0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            try await channel.writeAndFlush(bytes)
            // Left open, the connection would keep its calls waiting forever.
            try await waitWhile { channel.isActive }
            #expect(!channel.isActive, "the server kept the connection open after a connection error")
            try? await channel.close()
        }
    }

    @Test("a client that pings too often gets GOAWAY ENHANCE_YOUR_CALM")
    func pingFlood() async throws {
        try await withServer { port in
            let recorder = FrameRecorder()
            let (channel, _) = try await rawConnection(port: port, recorder: recorder)
            for i in 0..<5 {
                let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: UInt64(i)), ack: false))
                // The server closes the connection after its GOAWAY: late pings may fail.
                try? await channel.writeAndFlush(ping)
            }
            try await waitWhile { recorder.goAway == nil }
            #expect(recorder.goAway == .enhanceYourCalm)
            try? await channel.close()
        }
    }

    @Test("keepalive pings at a permitted interval keep a quiet call alive; too frequent ones get GOAWAY")
    func keepalive() async throws {
        // (That pings following data are never strikes, as grpc-go's bandwidth pings need, is
        // the KeepaliveEnforcer tests' subject.)
        var client = HTTP2ClientTransport.Configuration()
        client.keepalive = ClientKeepalive(time: .milliseconds(20))
        var permissive = HTTP2ServerTransport.Configuration()
        permissive.keepalive.minimumPingInterval = .milliseconds(5)
        // Two pings read in one batch arrive at the same instant: tolerate such strikes.
        permissive.keepalive.maxPingStrikes = 1_000
        let catalog = CatalogService()
        try await withHTTP2Server([catalog], serverConfiguration: permissive, clientConfiguration: client) { client, _ in
            let api = Catalog_ProductService.Client(wrapping: client)
            let error = await #expect(throws: RPCError.self) {
                _ = try await api.getRecommendations(Catalog_GetRecommendationsRequest(), options: CallOptions(timeout: .milliseconds(500)))
            }
            // Many pings went out and were acknowledged: the call ran into its deadline.
            #expect(error?.code == .deadlineExceeded)
        }
        try await withHTTP2Server([catalog], clientConfiguration: client) { client, _ in
            // The default policy allows one ping per five minutes during calls.
            let api = Catalog_ProductService.Client(wrapping: client)
            let error = await #expect(throws: RPCError.self) {
                _ = try await api.getRecommendations(Catalog_GetRecommendationsRequest(), options: CallOptions(timeout: .seconds(20)))
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test("a connection idle past maxConnectionIdle gets GOAWAY and is closed")
    func maxConnectionIdle() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.connectionLimits.maxConnectionIdle = .milliseconds(200)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0), configuration: configuration)
        let server = GRPCServer(transport: transport, services: [UserService()])
        let serving = Task { try await server.serve() }
        let port = try await transport.listeningAddress.port ?? 0
        let recorder = FrameRecorder()
        let (channel, _) = try await rawConnection(port: port, recorder: recorder)
        try await waitWhile { channel.isActive }
        #expect(recorder.goAway == .noError, "\(recorder.frames.withLock { $0 })")
        #expect(!channel.isActive, "the idle connection was kept open")
        server.beginGracefulShutdown()
        try await serving.value
    }

    @Test("at maxConnectionAge a connection gets GOAWAY; a call outliving the grace is cut off, new calls go on")
    func maxConnectionAge() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        // Long enough that the call after the cut-off finishes on its new connection before
        // that one ages too, even on a loaded machine (CI's stalled an event loop for seconds).
        configuration.connectionLimits.maxConnectionAge = .seconds(8)
        configuration.connectionLimits.maxConnectionAgeGrace = .milliseconds(500)
        let catalog = CatalogService()
        try await withHTTP2Server([UserService(), catalog], serverConfiguration: configuration) { client, _ in
            let slow = await #expect(throws: RPCError.self) {
                _ = try await Catalog_ProductService.Client(wrapping: client).getRecommendations(
                    Catalog_GetRecommendationsRequest(), options: CallOptions(timeout: .seconds(20)))
            }
            #expect(slow?.code == .unavailable, "\(String(describing: slow))")
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            // New calls go on, on a new connection. A client of a server that ages its
            // connections retries UNAVAILABLE: on a machine loaded enough to stall the new
            // connection's handshake past its own age, the retry takes the next one.
            let retrying = GRPCClient(transport: client.transport, serviceConfig: try ServiceConfig(json: """
                {"methodConfig": [{"name": [{"service": "venta.user.UserService"}],
                  "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.2s", "maxBackoff": "1s",
                                  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
                """))
            let user = try await Venta_User_UserService.Client(wrapping: retrying).getUser(request)
            #expect(user.name == "John Doe")
        }
    }
}
