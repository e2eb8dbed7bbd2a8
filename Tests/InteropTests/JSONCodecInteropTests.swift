import Foundation
import SluiceTestSupport
import Testing

/// gRPC with the JSON codec (`application/grpc+json`): one server answers protobuf and JSON
/// callers of the same service, each in its own format; a client chooses JSON per client.
/// grpc-go picks its codec by the content subtype, so its transport is the independent peer;
/// its messages are written and read by Go's `encoding/json`.
@Suite("gRPC with JSON: application/grpc+json against grpc-go and curl", .serialized, .timeLimit(.minutes(5)))
struct JSONCodecInteropTests {
    private func startSluiceServer() async throws -> (ChildProcess, String) {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0"])
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        return (server, port)
    }

    @Test("the Sluice client passes every standard interop case in JSON, and the same server still answers protobuf")
    func sluiceBothWays() async throws {
        let (server, port) = try await startSluiceServer()
        defer { server.killNow() }
        let client = buildDirectory.appending(path: "interop-client").path
        for format in ["json", "proto"] {
            let result = try await ChildProcess(client, ["--server_port", port, "--test_case", "all", "--message_format", format]).finish()
            #expect(result.status == 0, "\(format): \(result.output)")
            for testCase in InteropTestsCases.standard {
                #expect(result.output.contains("PASS \(testCase)\n"), "\(format): \(testCase) did not pass:\n\(result.output)")
            }
        }
    }

    @Test("a grpc-go client calling with content subtype json gets JSON answers; its protobuf calls still work")
    func grpcGoClient() async throws {
        let (server, port) = try await startSluiceServer()
        defer { server.killNow() }
        let peer = try await GRPCGoSoakTests.peer().path
        let json = try await ChildProcess(peer, ["client", "--port", port, "--unary", "2000", "--stream", "5000", "--json"]).finish()
        #expect(json.status == 0, "\(json.output)")
        #expect(json.output.contains("unary: 2000 calls, 0 failed"), "\(json.output)")
        #expect(json.output.contains("stream: 5000 messages, 5000 received, 0 bad"), "\(json.output)")
        let proto = try await ChildProcess(peer, ["client", "--port", port, "--unary", "500", "--stream", "500"]).finish()
        #expect(proto.status == 0, "\(proto.output)")
        #expect(proto.output.contains("0 errors"), "\(proto.output)")
    }

    @Test("the Sluice client with JSON against a grpc-go server with a json codec")
    func grpcGoServer() async throws {
        let server = try ChildProcess(try await GRPCGoSoakTests.peer().path, ["server", "--port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let client = buildDirectory.appending(path: "interop-client").path
        let unary = try await ChildProcess(client, [
            "--server_port", port, "--test_case", "unary_soak", "--soak_iterations", "2000", "--message_format", "json",
        ]).finish()
        #expect(unary.status == 0, "\(unary.output)")
        #expect(unary.output.contains("PASS unary_soak"), "\(unary.output)")
        let streaming = try await ChildProcess(client, [
            "--server_port", port, "--test_case", "streaming_soak", "--soak_messages", "5000", "--message_format", "json",
        ]).finish()
        #expect(streaming.status == 0, "\(streaming.output)")
        #expect(streaming.output.contains("PASS streaming_soak"), "\(streaming.output)")
    }

    @Test("on the wire: curl's JSON request gets a JSON answer; an unknown subtype is refused with 415")
    func onTheWire() async throws {
        let (server, port) = try await startSluiceServer()
        defer { server.killNow() }
        let directory = FileManager.default.temporaryDirectory.appending(path: "sluice-grpc-json-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // One gRPC frame: flag 0, big-endian length, then SimpleRequest as JSON.
        let request = Array(#"{"responseSize": 3, "fillUsername": false}"#.utf8)
        let length = UInt32(request.count)
        let frame = [0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + request
        let body = directory.appending(path: "request")
        try Data(frame).write(to: body)
        let headersFile = directory.appending(path: "headers").path
        let responseFile = directory.appending(path: "response").path
        func curl(_ contentType: String) async throws -> (headers: String, body: [UInt8]) {
            let result = try await run("curl", [
                "--silent", "--show-error", "--http2-prior-knowledge", "-X", "POST",
                "-H", "content-type: \(contentType)", "-H", "te: trailers",
                "--data-binary", "@\(body.path)", "--dump-header", headersFile, "--output", responseFile,
                "http://127.0.0.1:\(port)/grpc.testing.TestService/UnaryCall",
            ])
            #expect(result.status == 0, "\(result.output)")
            return (try String(contentsOfFile: headersFile, encoding: .utf8), Array(try Data(contentsOf: URL(filePath: responseFile))))
        }

        let json = try await curl("application/grpc+json")
        #expect(json.headers.contains("content-type: application/grpc+json"), "\(json.headers)")
        #expect(json.headers.contains("grpc-status: 0"), "\(json.headers)")
        // The message after the 5-byte prefix is JSON text: three zero bytes are "AAAA" in base64.
        let message = String(decoding: json.body.dropFirst(5), as: UTF8.self)
        let parsed = try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any]
        let payload = parsed?["payload"] as? [String: Any]
        #expect(payload?["body"] as? String == "AAAA", "\(message)")

        // Case and parameters say nothing about the codec.
        let parameters = try await curl("application/grpc+JSON; charset=utf-8")
        #expect(parameters.headers.contains("content-type: application/grpc+json"), "\(parameters.headers)")
        #expect(parameters.body == json.body)

        let xml = try await curl("application/grpc+xml")
        #expect(xml.headers.hasPrefix("HTTP/2 415"), "\(xml.headers)")
        #expect(xml.headers.contains("content subtype 'xml' is not supported"), "\(xml.headers)")
        // grpc-web is another protocol, not a subtype of gRPC.
        let web = try await curl("application/grpc-web")
        #expect(web.headers.hasPrefix("HTTP/2 415"), "\(web.headers)")
    }
}
