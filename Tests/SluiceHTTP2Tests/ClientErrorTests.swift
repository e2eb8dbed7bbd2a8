import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceTestSupport
import Testing

/// How the raw server below breaks the protocol.
enum Misbehaviour: Sendable {
    /// GOAWAY ENHANCE_YOUR_CALM with debug data, refusing the call's stream.
    case goAway
    /// RST_STREAM REFUSED_STREAM on the first stream; later streams get an empty OK response.
    case refuseFirst(Observed<Int>)
    /// GOAWAY with last stream ID 0 for the first stream (which the server so never
    /// processed); later streams, on other connections, get an empty OK response.
    case goAwayFirst(Observed<Int>)
}

/// Answers every stream's HEADERS with `misbehaviour`.
final class MisbehavingStream: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload
    let misbehaviour: Misbehaviour
    private var answered = false

    init(_ misbehaviour: Misbehaviour) {
        self.misbehaviour = misbehaviour
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers = unwrapInboundIn(data), !answered else { return }
        answered = true
        let response = HPACKHeaders([(":status", "200"), ("content-type", "application/grpc")])
        func answerOK() {
            context.write(wrapOutboundOut(.headers(.init(headers: response))), promise: nil)
            let message = ByteBuffer(bytes: [0, 0, 0, 0, 0])
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(message)))), promise: nil)
            let trailers = HPACKHeaders([("grpc-status", "0")])
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        }
        switch misbehaviour {
        case .refuseFirst(let streams):
            if streams.update({ $0 += 1; return $0 }) == 1 {
                context.writeAndFlush(wrapOutboundOut(.rstStream(.refusedStream)), promise: nil)
                return
            }
            answerOK()
        case .goAwayFirst(let streams):
            if streams.update({ $0 += 1; return $0 }) == 1 {
                let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(
                    lastStreamID: .rootStream, errorCode: .noError, opaqueData: ByteBuffer(string: "restarting")))
                context.channel.parent?.writeAndFlush(goAway, promise: nil)
                return
            }
            answerOK()
        case .goAway:
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(
                lastStreamID: .rootStream, errorCode: .enhanceYourCalm, opaqueData: ByteBuffer(string: "go away now")))
            context.channel.parent?.writeAndFlush(goAway, promise: nil)
        }
    }
}

@Suite("Client errors name their cause", .timeLimit(.minutes(2)))
struct ClientErrorTests {
    /// A server on loopback that speaks HTTP/2 but not gRPC's rules; runs `body` against it.
    func withMisbehavingServer<T>(_ misbehaviour: Misbehaviour,
                                  _ body: (Venta_User_UserService.Client) async throws -> T) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(MisbehavingStream(misbehaviour))
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let transport = try HTTP2ClientTransport(target: .host("127.0.0.1", port: port))
        let client = GRPCClient(transport: transport)
        defer { server.close(promise: nil) }
        let result = try await body(Venta_User_UserService.Client(wrapping: client))
        await client.close()
        return result
    }

    /// The error a unary call to a server that breaks the protocol that way ends with. The
    /// deadline is generous: against a server that sends GOAWAY for every stream, the call
    /// first moves to new connections (transparent retries), each one set up on a machine
    /// that may be busy.
    func callFailing(against misbehaviour: Misbehaviour) async throws -> RPCError? {
        try await withMisbehavingServer(misbehaviour) { users in
            await #expect(throws: RPCError.self) {
                _ = try await users.getUser(Venta_User_GetUserRequest(), options: CallOptions(timeout: .seconds(40)))
            }
        }
    }

    @Test("a stream the server refuses (REFUSED_STREAM) is retried transparently; the caller sees the answer")
    func refusedStreamIsRetried() async throws {
        let streams = Observed(0)
        let user = try await withMisbehavingServer(.refuseFirst(streams)) { users in
            try await users.getUser(Venta_User_GetUserRequest(), options: CallOptions(timeout: .seconds(10)))
        }
        #expect(user.id == "")
        #expect(streams.value == 2, "one refused stream, one retry")
    }

    @Test("a stream above a GOAWAY's last stream ID is sent again on a new connection; the caller sees the answer")
    func unprocessedStreamMovesToAnotherConnection() async throws {
        let streams = Observed(0)
        let user = try await withMisbehavingServer(.goAwayFirst(streams)) { users in
            try await users.getUser(Venta_User_GetUserRequest(), options: CallOptions(timeout: .seconds(10)))
        }
        #expect(user.id == "")
        #expect(streams.value == 2, "one stream the server never processed, one on a new connection")
    }

    /// The error a unary call ends with against Tests/Abuse/misbehaving_server.py in `mode`
    /// (frames written by hand: swift-nio-http2 will not send these).
    func callFailing(againstScript mode: String) async throws -> RPCError? {
        let server = try ChildProcess("python3", ["Tests/Abuse/misbehaving_server.py", mode])
        defer { server.killNow() }
        let port = try #require(Int(try await server.waitForLine(containing: "listening on port")
            .split(separator: " ").last ?? ""))
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        let error = await #expect(throws: RPCError.self) {
            _ = try await Venta_User_UserService.Client(wrapping: client).getUser(
                Venta_User_GetUserRequest(), options: CallOptions(timeout: .seconds(10)))
        }
        await client.close()
        return error
    }

    @Test("response metadata over the limit is RESOURCE_EXHAUSTED naming the limit")
    func oversizeHeaders() async throws {
        let error = try await callFailing(againstScript: "huge-headers")
        #expect(error?.code == .resourceExhausted, "\(String(describing: error))")
        #expect(error?.message.contains("16384") == true, "\(String(describing: error))")
    }

    @Test("a second HEADERS frame before the trailers is INTERNAL with the reason")
    func secondHeaders() async throws {
        let error = try await callFailing(againstScript: "second-headers")
        #expect(error?.code == .internal, "\(String(describing: error))")
        #expect(error?.message.isEmpty == false)
    }

    @Test("GOAWAY is UNAVAILABLE \"GOAWAY received\" with its code and debug data")
    func goAway() async throws {
        let error = try await callFailing(against: .goAway)
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("GOAWAY received") == true, "\(String(describing: error))")
        #expect(error?.message.contains("go away now") == true, "\(String(describing: error))")
    }
}
