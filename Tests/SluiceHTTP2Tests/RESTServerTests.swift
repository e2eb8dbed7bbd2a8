import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

/// Refuses Features/Fail without `x-api-key: secret`.
private struct RequireKey: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard context.method.method != "Fail" || context.metadata.first("x-api-key") == "secret" else {
            throw RPCError(code: .unauthenticated, message: "x-api-key is missing or wrong")
        }
        return try await next(request, context)
    }
}

@Suite("REST over HTTP/1.1, driven by curl", .timeLimit(.minutes(1)))
struct RESTServerTests {
    /// curl's output: the status line and headers, then the body.
    private func curl(_ arguments: [String]) async throws -> (status: Int, headers: String, body: String) {
        let result = try await run("curl", ["--silent", "--show-error", "--include", "--http1.1"] + arguments)
        #expect(result.status == 0, "\(result.output)")
        let text = result.output.replacingOccurrences(of: "\r\n", with: "\n")
        let parts = text.components(separatedBy: "\n\n")
        let headers = parts.first ?? ""
        let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, headers, parts.dropFirst().joined(separator: "\n\n"))
    }

    @Test("GET, POST with a body, errors as JSON statuses with their HTTP codes, NDJSON streaming, 404/405/413")
    func curlDrivesIt() async throws {
        let services: [any RegistrableService] = [FeaturesEcho(), QueryParametersEcho()]
        let server = GRPCServer(transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0)), services: services,
                                interceptors: [RequireKey()])
        var configuration = RESTConfiguration()
        configuration.maxBodyBytes = 1024
        // Not shorter: a CI machine's event loops can stall for a second.
        configuration.requestTimeout = .seconds(3)
        let rest = try RESTServer(server: server, services: services, configuration: configuration, host: "127.0.0.1", port: 0)
        let serving = Task { try await server.serve() }
        let restServing = Task { try await rest.run() }
        defer {
            restServing.cancel()
            serving.cancel()
        }
        let base = "http://127.0.0.1:\(try await rest.listeningPort)"

        let get = try await curl(["\(base)/v1/messages/123456?revision=2&sub.subfield=foo"])
        #expect(get.status == 200, "\(get)")
        #expect(get.headers.lowercased().contains("content-type: application/json"))
        #expect(try Sluice_Rest_QueryRequest(jsonString: get.body) == .with {
            $0.messageID = "123456"
            $0.revision = 2
            $0.sub.subfield = "foo"
        })

        let unauthenticated = try await curl(["-X", "POST", "-H", "content-type: application/json", "-d", "{}", "\(base)/v1/fail"])
        #expect(unauthenticated.status == 401)
        #expect(try Google_Rpc_Status(jsonString: unauthenticated.body).code == 16)

        let authorized = try await curl(["-X", "POST", "-H", "x-api-key: secret", "-d", #"{"code": 5, "message": "gone"}"#, "\(base)/v1/fail"])
        #expect(authorized.status == 404)
        #expect(try Google_Rpc_Status(jsonString: authorized.body) == .with { $0.code = 5; $0.message = "gone" })

        let stream = try await curl(["\(base)/v1/watch/news?count=3"])
        #expect(stream.status == 200)
        #expect(stream.headers.lowercased().contains("transfer-encoding: chunked"))
        let lines = stream.body.split(separator: "\n")
        #expect(lines.count == 3, "\(stream.body)")
        #expect(lines.last == #"{"result":{"text":"news 2"}}"#)

        #expect(try await curl(["\(base)/nothing"]).status == 404)
        let wrong = try await curl(["-X", "PUT", "\(base)/v1/search"])
        #expect(wrong.status == 405)
        #expect(wrong.headers.lowercased().contains("allow: get"))
        let large = try await curl(["-X", "POST", "-d", String(repeating: "x", count: 5000), "\(base)/v1/fail"])
        #expect(large.status == 413)

        // Keep-alive: two requests on one connection, both answered.
        let twice = try await run("curl", ["--silent", "--http1.1", "-w", "%{num_connects}\n",
                                           "\(base)/v1/search?query=a", "\(base)/v1/search?query=b"])
        // curl prints each body, then how many connections it opened for it.
        #expect(twice.output == "{\"query\":\"a\"}1\n{\"query\":\"b\"}0\n", "\(twice.output)")

        // A trickled request and an idle keep-alive connection are both closed at the timeout.
        let slow = try await run("/usr/bin/env", ["python3", "-c", """
            import socket, time
            def closed_after(first):
                s = socket.create_connection(("127.0.0.1", \(try await rest.listeningPort)))
                s.sendall(first)
                start = time.monotonic()
                s.settimeout(20)
                while s.recv(4096):
                    pass
                return time.monotonic() - start
            trickle = closed_after(b"GET /v1/search HTTP/1.1\\r\\nHost: x\\r\\n")
            idle = closed_after(b"GET /v1/search?query=q HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            print("trickle %.1f idle %.1f" % (trickle, idle))
            """])
        let times = slow.output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(times.count == 2 && times.allSatisfy { $0 >= 1.5 && $0 < 12 }, "\(slow.output)")
    }

    @Test("on the gRPC port: REST over HTTP/1.1 and HTTP/2 beside gRPC, told apart by first bytes and content type")
    func sharedPort() async throws {
        let services: [any RegistrableService] = [FeaturesEcho(), UserService()]
        var configuration = HTTP2ServerTransport.Configuration()
        var rest = RESTConfiguration()
        rest.maxBodyBytes = 65_536
        configuration.rest = try RESTTranscoder(services: services, configuration: rest)
        // Long enough for a CI machine whose event loops stall (a shorter one closed a good
        // client's connection there), short enough to see the trickle cut off.
        configuration.connectionLimits.handshakeTimeout = .seconds(5)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0), configuration: configuration)
        let server = GRPCServer(transport: transport, services: services, interceptors: [RequireKey()])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)

        let search = try await curl(["http://127.0.0.1:\(port)/v1/search?query=shared"])
        #expect(search.status == 200)
        #expect(search.body == #"{"query":"shared"}"#)
        let denied = try await curl(["-X", "POST", "-d", "{}", "http://127.0.0.1:\(port)/v1/fail"])
        #expect(denied.status == 401)

        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        defer { Task { await client.close() } }
        var request = Venta_User_GetUserRequest()
        request.id = "123"
        #expect(try await Venta_User_UserService.Client(wrapping: client).getUser(request).name == "John Doe")
        // gRPC's JSON subtype still goes to gRPC, and REST after it still works.
        let json = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)),
                              defaultOptions: CallOptions(messageFormat: .json))
        defer { Task { await json.close() } }
        #expect(try await Venta_User_UserService.Client(wrapping: json).getUser(request).name == "John Doe")
        #expect(try await curl(["http://127.0.0.1:\(port)/v1/watch/t?count=2"]).body.split(separator: "\n").count == 2)

        // REST over HTTP/2 on the same port: told from gRPC by its content type.
        let h2 = try await run("curl", ["--silent", "--show-error", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}\n",
                                        "http://127.0.0.1:\(port)/v1/search?query=h2",
                                        "-H", "accept: application/json"])
        #expect(h2.output == "{\"query\":\"h2\"}\n2 200\n", "\(h2.output)")
        let h2Denied = try await run("curl", ["--silent", "--http2-prior-knowledge", "-X", "POST", "-d", "{}",
                                              "-H", "content-type: application/json", "-w", "\n%{http_code}\n",
                                              "http://127.0.0.1:\(port)/v1/fail"])
        #expect(h2Denied.output.hasSuffix("\n401\n"), "\(h2Denied.output)")
        #expect(h2Denied.output.contains("\"code\":16"), "\(h2Denied.output)")
        let h2Stream = try await run("curl", ["--silent", "--http2-prior-knowledge", "http://127.0.0.1:\(port)/v1/watch/t?count=3"])
        #expect(h2Stream.output.split(separator: "\n").count == 3, "\(h2Stream.output)")
        let h2Large = try await run("curl", ["--silent", "--http2-prior-knowledge", "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}",
                                             "-d", String(repeating: "x", count: 70_000), "http://127.0.0.1:\(port)/v1/fail"])
        #expect(h2Large.output == "413", "\(h2Large.output)")

        // A client that sends part of the HTTP/2 preface and stops is closed at the handshake timeout.
        let trickle = try await run("/usr/bin/env", ["python3", "-c", """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"PRI * HTTP/2")
            start = time.monotonic()
            s.settimeout(30)
            data = s.recv(100)
            print("closed after %.1f s with %d bytes" % (time.monotonic() - start, len(data)))
            """])
        #expect(trickle.output.contains("with 0 bytes"), "\(trickle.output)")
        let seconds = Double(trickle.output.split(separator: " ").dropFirst(2).first ?? "") ?? 99
        #expect(seconds >= 3 && seconds < 15, "\(trickle.output)")
    }
}
