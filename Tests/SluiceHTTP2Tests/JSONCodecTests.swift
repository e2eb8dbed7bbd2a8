import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

/// A method that says which format its call arrived in, and what was in the request.
private struct FormatReporting: RegistrableService {
    static let echo = MethodDescriptor(service: "sluice.test.Format", method: "Echo", kind: .unary)

    func registerMethods(with router: inout RPCRouter) {
        router.register(Self.echo, handler: ServerHandlers.unary { (request: Google_Protobuf_StringValue, context) in
            Google_Protobuf_StringValue("\(context.messageFormat):\(request.value)")
        })
    }
}

@Suite("gRPC's JSON codec (application/grpc+json)", .timeLimit(.minutes(1)))
struct JSONCodecTests {
    @Test("one server answers protobuf and JSON callers of the same service, per client and per call")
    func bothFormats() async throws {
        try await withHTTP2Server([FormatReporting(), UserService(), ChatService()]) { protobufClient, target in
            let json = GRPCClient(transport: try HTTP2ClientTransport(target: target), defaultOptions: CallOptions(messageFormat: .json))
            defer { Task { await json.close() } }

            let viaJSON: UnaryResponse<Google_Protobuf_StringValue> = try await json.unary(FormatReporting.echo, Google_Protobuf_StringValue("é"))
            #expect(viaJSON.message.value == "json:é")
            let viaProtobuf: UnaryResponse<Google_Protobuf_StringValue> = try await protobufClient.unary(
                FormatReporting.echo, Google_Protobuf_StringValue("é"))
            #expect(viaProtobuf.message.value == "proto:é")
            // A call's own option overrides its client's default.
            let overridden: UnaryResponse<Google_Protobuf_StringValue> = try await protobufClient.unary(
                FormatReporting.echo, Google_Protobuf_StringValue("x"), options: CallOptions(messageFormat: .json))
            #expect(overridden.message.value == "json:x")

            // Generated clients, metadata, errors and streams all work in JSON.
            var request = Venta_User_GetUserRequest()
            request.id = "123"
            let user = try await Venta_User_UserService.Client(wrapping: json).getUser(request, metadata: ["x-trace-id": "t1"])
            #expect(user.name == "John Doe")
            #expect(user.trailers.first("x-cost") == "3")
            request.id = "999"
            await #expect(throws: RPCError.self) { try await Venta_User_UserService.Client(wrapping: json).getUser(request) }

            let chat = try await Chat_ChatService.Client(wrapping: json).chat()
            var responses = chat.responses.makeAsyncIterator()
            var message = Chat_ChatMessage()
            message.text = "ping"
            try await chat.requests.send(message)
            #expect(try await responses.next()?.text == "PING")
            chat.requests.finish()
            #expect(try await responses.next() == nil)
        }
    }

    @Test("a JSON request the server cannot parse ends the call with INTERNAL naming the field")
    func malformedJSONRequest() async throws {
        // A raw stream, so the request can be bytes no Sluice client would send.
        try await withHTTP2Server([UserService()]) { _, target in
            let transport = try HTTP2ClientTransport(target: target)
            var head = RequestHead(method: Venta_User_UserService.Method.GetUser.descriptor)
            head.messageFormat = .json
            let stream = try await transport.openStream(head)
            try await stream.requests.write(SerializedMessage(Array(#"{"id": 12}"#.utf8), compressed: false))
            stream.requests.finish()
            let end = await stream.end.value
            #expect(end.error?.code == .internal)
            #expect(end.error?.message.contains("$.id") == true, "\(String(describing: end.error))")
            await transport.close()
        }
    }

    @Test("content subtypes are read as the spec says: none or proto is protobuf, json is JSON, in any case")
    func contentSubtypes() {
        #expect(MessageFormat(contentSubtype: "") == .protobuf)
        #expect(MessageFormat(contentSubtype: "proto") == .protobuf)
        #expect(MessageFormat(contentSubtype: "JSON") == .json)
        #expect(MessageFormat(contentSubtype: "xml") == nil)
        #expect(MessageFormat.json.contentSubtype == "json")
    }
}
