import SeedServices
import Sluice
import SluiceProto
import SluiceTestSupport
import Testing

/// Refuses calls without `x-api-key: secret`, as an application's auth interceptor would.
private struct APIKeyCheck: ServerInterceptor {
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

/// The transcoder against the services of `http_examples.proto`, through a server's own
/// routing and interceptors (no socket: the HTTP side has tests of its own).
/// The examples' paths overlap (each is written for a service of its own), so each test
/// serves only the services it is about.
struct RESTHarness {
    let server: GRPCServer
    let transcoder: RESTTranscoder

    init(_ services: [any RegistrableService] = [FeaturesEcho()]) throws {
        server = GRPCServer(transport: InProcessTransport.makePair().server, services: services, interceptors: [APIKeyCheck()])
        transcoder = try RESTTranscoder(services: services)
    }

    func call(_ method: String, _ target: String, body: String = "", headers: [(String, String)] = []) async -> RESTResponse {
        let server = self.server
        return await transcoder.respond(to: RESTRequest(method: method, target: target, headers: headers.map { ($0.0, $0.1) },
                                                        body: Array(body.utf8))) { stream in await server.handle(stream) }
    }

    /// The response body read as `M`, or nil with the body recorded as an issue.
    func message<M: JSONMessage>(_ type: M.Type, _ response: RESTResponse, sourceLocation: SourceLocation = #_sourceLocation) -> M? {
        guard let body = response.completeBody else {
            Issue.record("a streamed body", sourceLocation: sourceLocation)
            return nil
        }
        do {
            return try M(jsonUTF8Bytes: body)
        } catch {
            Issue.record("\(error): \(String(decoding: body, as: UTF8.self))", sourceLocation: sourceLocation)
            return nil
        }
    }

    func status(_ response: RESTResponse) -> Google_Rpc_Status? {
        response.completeBody.flatMap { try? Google_Rpc_Status(jsonUTF8Bytes: $0) }
    }
}

@Suite("REST transcoding: the examples of google/api/http.proto")
struct RESTHTTPRuleExampleTests {
    @Test("GET /v1/messages/123456 with get: \"/v1/{name=messages/*}\" calls GetMessage(name: \"messages/123456\")")
    func variableWithPattern() async throws {
        let rest = try RESTHarness([NameBindingEcho()])
        let response = await rest.call("GET", "/v1/messages/123456")
        #expect(response.status == 200)
        #expect(rest.message(Sluice_Rest_NamedRequest.self, response) == .with { $0.name = "messages/123456" })
        // The pattern is one segment: two do not match.
        #expect(await rest.call("GET", "/v1/messages/123/456").status == 404)
    }

    @Test("where templates overlap equally (two literal segments each), the one declared first wins")
    func overlap() async throws {
        let rest = try RESTHarness([NameBindingEcho(), QueryParametersEcho()])
        let response = await rest.call("GET", "/v1/messages/123456")
        #expect(rest.message(Sluice_Rest_NamedRequest.self, response)?.name == "messages/123456")
        let reversed = try RESTHarness([QueryParametersEcho(), NameBindingEcho()])
        let other = await reversed.call("GET", "/v1/messages/123456")
        #expect(reversed.message(Sluice_Rest_QueryRequest.self, other)?.messageID == "123456")
    }

    @Test("GET /v1/messages/123456?revision=2&sub.subfield=foo calls GetMessage(message_id: \"123456\" revision: 2 sub: {subfield: \"foo\"})")
    func queryParameters() async throws {
        let rest = try RESTHarness([QueryParametersEcho()])
        let response = await rest.call("GET", "/v1/messages/123456?revision=2&sub.subfield=foo")
        #expect(response.status == 200)
        #expect(rest.message(Sluice_Rest_QueryRequest.self, response) == .with {
            $0.messageID = "123456"
            $0.revision = 2
            $0.sub.subfield = "foo"
        })
    }

    @Test("PATCH /v1/messages/123456 { \"text\": \"Hi!\" } with body: \"message\" calls UpdateMessage(message_id: \"123456\" message { text: \"Hi!\" })")
    func bodyField() async throws {
        let rest = try RESTHarness([BodyFieldEcho()])
        let response = await rest.call("PATCH", "/v1/messages/123456", body: #"{ "text": "Hi!" }"#)
        #expect(response.status == 200)
        #expect(rest.message(Sluice_Rest_UpdateMessageRequest.self, response) == .with {
            $0.messageID = "123456"
            $0.message.text = "Hi!"
        })
    }

    @Test("PATCH /v1/messages/123456 { \"text\": \"Hi!\" } with body: \"*\" calls UpdateMessage(message_id: \"123456\" text: \"Hi!\")")
    func bodyStar() async throws {
        let rest = try RESTHarness([BodyStarEcho()])
        let response = await rest.call("PATCH", "/v1/messages/123456", body: #"{ "text": "Hi!" }"#)
        #expect(response.status == 200)
        #expect(rest.message(Sluice_Rest_MessageWithId.self, response) == .with {
            $0.messageID = "123456"
            $0.text = "Hi!"
        })
        // The path wins over a body field of the same name, in either spelling.
        let conflicting = await rest.call("PATCH", "/v1/messages/123456", body: #"{"messageId": "999", "text": "x"}"#)
        #expect(rest.message(Sluice_Rest_MessageWithId.self, conflicting)?.messageID == "123456")
        // With body "*", nothing comes from the query.
        let query = await rest.call("PATCH", "/v1/messages/1?text=ignored", body: #"{"text": "kept"}"#)
        #expect(rest.message(Sluice_Rest_MessageWithId.self, query)?.text == "kept")
    }

    @Test("additional_bindings: GET /v1/messages/123456 and GET /v1/users/me/messages/123456 call the same method")
    func additionalBindings() async throws {
        let rest = try RESTHarness([AdditionalBindingsEcho()])
        let plain = await rest.call("GET", "/v1/messages/123456")
        #expect(rest.message(Sluice_Rest_UserMessageRequest.self, plain) == .with { $0.messageID = "123456" })
        let user = await rest.call("GET", "/v1/users/me/messages/123456")
        #expect(rest.message(Sluice_Rest_UserMessageRequest.self, user) == .with {
            $0.userID = "me"
            $0.messageID = "123456"
        })
    }
}

@Suite("REST transcoding: paths, queries, bodies, answers and errors")
struct RESTTranscodingTests {
    @Test("** takes the rest of the path; a custom verb follows the last segment; values are percent-decoded")
    func pathForms() async throws {
        let rest = try RESTHarness()
        let file = await rest.call("GET", "/v1/files/a/b%20c/d.txt")
        #expect(rest.message(Sluice_Rest_FileRequest.self, file)?.path == "a/b c/d.txt")
        // A multi-segment variable keeps an encoded slash encoded (reserved expansion).
        let slash = await rest.call("GET", "/v1/files/a%2Fb")
        #expect(rest.message(Sluice_Rest_FileRequest.self, slash)?.path == "a%2Fb")
        let cancel = await rest.call("POST", "/v1/operations/op%201:cancel", body: #"{"reason": "user"}"#)
        #expect(rest.message(Sluice_Rest_OperationRequest.self, cancel) == .with {
            $0.name = "operations/op 1"
            $0.reason = "user"
        })
        // Without the verb the template does not match.
        #expect(await rest.call("POST", "/v1/operations/op1", body: "{}").status == 404)
    }

    @Test("query parameters: repeated by repetition, booleans, numbers, enums, timestamps and field masks as strings")
    func typedQuery() async throws {
        let rest = try RESTHarness()
        let response = await rest.call("GET", "/v1/search?query=red+shoes&tags=a&tags=b%26c&exact=true&limit=10&minScore=0.5"
            + "&order=NEWEST&since=2026-12-02T10:00:00Z&fields=query,tags&ids=1&ids=9007199254740993")
        #expect(response.status == 200)
        let search = rest.message(Sluice_Rest_SearchRequest.self, response)
        #expect(search?.query == "red shoes")
        #expect(search?.tags == ["a", "b&c"])
        #expect(search?.exact == true)
        #expect(search?.limit == 10)
        #expect(search?.minScore == 0.5)
        #expect(search?.order == .newest)
        #expect(search?.since.seconds == 1_796_205_600)
        #expect(search?.fields.paths == ["query", "tags"])
        #expect(search?.ids == [1, 9_007_199_254_740_993])
        // Proto names work too.
        let snake = await rest.call("GET", "/v1/search?min_score=2")
        #expect(rest.message(Sluice_Rest_SearchRequest.self, snake)?.minScore == 2)
    }

    @Test("bad requests are 400 with a google.rpc.Status that says what and where")
    func badRequests() async throws {
        let rest = try RESTHarness([FeaturesEcho(), BodyStarEcho(), QueryParametersEcho()])
        func expectBadRequest(_ method: String, _ target: String, body: String = "", mentioning text: String,
                              sourceLocation: SourceLocation = #_sourceLocation) async {
            let response = await rest.call(method, target, body: body)
            #expect(response.status == 400, sourceLocation: sourceLocation)
            let status = rest.status(response)
            #expect(status?.code == 3, sourceLocation: sourceLocation)
            #expect(status?.message.contains(text) == true, "\(String(describing: status?.message))", sourceLocation: sourceLocation)
        }
        await expectBadRequest("PATCH", "/v1/messages/1", body: #"{"text": }"#, mentioning: "not valid JSON")
        await expectBadRequest("PATCH", "/v1/messages/1", body: #"{"text": 5}"#, mentioning: "$.text")
        await expectBadRequest("PATCH", "/v1/messages/1", body: #"{"nope": 1}"#, mentioning: "nope")
        await expectBadRequest("PATCH", "/v1/messages/1", body: "[1]", mentioning: "JSON object")
        await expectBadRequest("GET", "/v1/search?limit=ten", mentioning: "$.limit")
        await expectBadRequest("GET", "/v1/search?exact=maybe", mentioning: "exact")
        await expectBadRequest("GET", "/v1/search?query=a&query=b", mentioning: "more than once")
        await expectBadRequest("GET", "/v1/search?unknown=1", mentioning: "unknown")
        await expectBadRequest("GET", "/v1/search?query=%zz", mentioning: "percent-encoded")
        await expectBadRequest("GET", "/v1/messages/1?sub=x", mentioning: "$.sub")
    }

    @Test("unknown paths are 404, wrong methods 405 with Allow, client streaming 501")
    func routing() async throws {
        let rest = try RESTHarness()
        let missing = await rest.call("GET", "/v2/nothing")
        #expect(missing.status == 404)
        #expect(rest.status(missing)?.code == 5)
        #expect(rest.status(missing)?.message.contains("/v2/nothing") == true)
        let wrongMethod = await rest.call("DELETE", "/v1/search")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers.first { $0.name == "allow" }?.value == "GET")
        #expect(await rest.call("POST", "/v1/upload", body: "{}").status == 501)
    }

    @Test("response_body writes one field of the response")
    func responseBody() async throws {
        let rest = try RESTHarness()
        let response = await rest.call("GET", "/v1/operations/o1/labels")
        #expect(response.status == 200)
        let labels = try JSONValue(parsing: try #require(response.completeBody))
        guard case .object(let members) = labels else { Issue.record("\(labels)"); return }
        #expect(Set(members.map(\.name)) == ["name", "env"])
        #expect(members.first { $0.name == "name" }?.value == .string("operations/o1"))
    }

    @Test("errors carry the HTTP status of their code and a JSON google.rpc.Status; metadata crosses as headers")
    func errorsAndMetadata() async throws {
        let rest = try RESTHarness()
        // The interceptor sees the x-api-key header: without it, 401 and code 16.
        let unauthenticated = await rest.call("POST", "/v1/fail", body: "{}")
        #expect(unauthenticated.status == 401)
        #expect(rest.status(unauthenticated)?.code == 16)
        let key = [("x-api-key", "secret")]
        for (code, http) in [(5, 404), (3, 400), (7, 403), (8, 429), (9, 400), (10, 409), (12, 501), (13, 500), (14, 503), (4, 504)] {
            let response = await rest.call("POST", "/v1/fail", body: #"{"code": \#(code), "message": "no"}"#, headers: key)
            #expect(response.status == http, "code \(code)")
            #expect(rest.status(response) == .with { $0.code = Int32(code); $0.message = "no" }, "code \(code)")
        }
        // Allowed headers and grpc-metadata-* reach the handler; others do not.
        let ok = await rest.call("POST", "/v1/fail", body: "{}", headers: key + [
            ("authorization", "Bearer t"), ("grpc-metadata-x-tenant", "acme"), ("cookie", "secret"), ("x-forwarded-for", "1.2.3.4"),
        ])
        #expect(ok.status == 200)
        let seen = Set(rest.message(Sluice_Rest_FailRequest.self, ok)?.metadata ?? [])
        #expect(seen.isSuperset(of: ["x-api-key=secret", "authorization=Bearer t", "x-tenant=acme"]), "\(seen)")
        #expect(!seen.contains { $0.hasPrefix("cookie") || $0.hasPrefix("x-forwarded-for") }, "\(seen)")
        #expect(ok.headers.contains { $0.name == "grpc-metadata-x-served-by" && $0.value == "features" })
    }

    @Test("server streaming is newline-delimited JSON, with an error line if the call fails after a message")
    func serverStreaming() async throws {
        let rest = try RESTHarness()
        func lines(_ response: RESTResponse) async throws -> [JSONValue] {
            guard case .stream(let chunks) = response.body else { return [] }
            var text: [UInt8] = []
            for await chunk in chunks { text += chunk }
            return try text.split(separator: UInt8(ascii: "\n")).map { try JSONValue(parsing: Array($0)) }
        }
        let response = await rest.call("GET", "/v1/watch/news?count=3")
        #expect(response.status == 200)
        #expect(response.headers.first { $0.name == "content-type" }?.value == "application/x-ndjson")
        let three = try await lines(response)
        var expected: [JSONValue] = []
        for index in 0..<3 { expected.append(try JSONValue(parsing: #"{"result":{"text":"news \#(index)"}}"#)) }
        #expect(three == expected)

        let failing = try await lines(await rest.call("GET", "/v1/watch/news?count=1&failCode=14"))
        #expect(failing.count == 2)
        #expect(failing.last == (try JSONValue(parsing: #"{"error":{"code":14,"message":"failed after 1"}}"#)))
        // Failing before any message is an ordinary error response.
        let early = await rest.call("GET", "/v1/watch/news?count=0&failCode=5")
        #expect(early.status == 404)
    }
}
