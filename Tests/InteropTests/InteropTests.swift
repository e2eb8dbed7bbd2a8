import Foundation
import Testing
import SluiceInterop
import SluiceTestSupport

/// How long a test waits for a child process's "listening on port" line.
let listenTimeout = Duration.seconds(60)

enum Peer: String, CaseIterable, Sendable {
    case sluice, grpcio
}

struct Combination: Sendable, CustomTestStringConvertible {
    let server: Peer
    let client: Peer
    let tls: Bool
    var testDescription: String { "\(client.rawValue) client -> \(server.rawValue) server\(tls ? ", TLS" : "")" }
}

@Suite("Interop with gRPC C-core (Python grpcio)", .serialized, .timeLimit(.minutes(5)))
struct InteropTests {
    /// Test certificates made by scripts/make-test-certs, once per run.
    static func certificates() async throws -> URL {
        try await testCertificates()
    }

    static let combinations: [Combination] = [true, false].flatMap { tls in
        [Combination(server: .sluice, client: .grpcio, tls: tls), Combination(server: .grpcio, client: .sluice, tls: tls),
         Combination(server: .sluice, client: .sluice, tls: tls)]
    }

    func serverCommand(_ peer: Peer, tls: Bool) async throws -> (String, [String]) {
        var arguments = ["--port", "0"]
        if tls {
            let certs = try await Self.certificates().path
            arguments += ["--use_tls", "--tls_cert_file", "\(certs)/server.pem", "--tls_key_file", "\(certs)/server.key"]
        }
        switch peer {
        case .sluice: return (buildDirectory.appending(path: "interop-server").path, arguments)
        case .grpcio: return ("python3", ["Tests/Interop/python_interop.py", "server"] + arguments)
        }
    }

    func clientCommand(_ peer: Peer, port: String, tls: Bool, testCase: String = "all") async throws -> (String, [String]) {
        var arguments = ["--server_host", "127.0.0.1", "--server_port", port, "--test_case", testCase]
        if tls {
            let certs = try await Self.certificates().path
            arguments += ["--use_tls", "--ca_file", "\(certs)/ca.pem", "--server_host_override", "foo.test.google.fr"]
        }
        switch peer {
        case .sluice: return (buildDirectory.appending(path: "interop-client").path, arguments)
        case .grpcio: return ("python3", ["Tests/Interop/python_interop.py", "client"] + arguments)
        }
    }

    @Test("every standard test case passes", arguments: combinations)
    func standardCases(_ combination: Combination) async throws {
        let (serverExecutable, serverArguments) = try await serverCommand(combination.server, tls: combination.tls)
        let server = try ChildProcess(serverExecutable, serverArguments)
        defer { server.killNow() }
        let line = try await server.waitForLine(containing: "listening on port")
        let port = String(line.split(separator: " ").last ?? "")
        let cases = InteropTestsCases.cases(client: combination.client, server: combination.server)
        let (clientExecutable, clientArguments) = try await clientCommand(
            combination.client, port: port, tls: combination.tls,
            testCase: cases == InteropTestsCases.standard ? "all" : cases.joined(separator: ","))
        let result = try await ChildProcess(clientExecutable, clientArguments).finish()
        #expect(result.status == 0, "\(result.output)")
        for testCase in cases {
            #expect(result.output.contains("PASS \(testCase)\n"), "\(testCase) did not pass:\n\(result.output)")
        }
    }

    @Test("rich error details (grpc-status-details-bin) cross both ways",
          arguments: combinations.filter { !$0.tls })
    func richErrorDetails(_ combination: Combination) async throws {
        let (serverExecutable, serverArguments) = try await serverCommand(combination.server, tls: false)
        let server = try ChildProcess(serverExecutable, serverArguments)
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let (clientExecutable, clientArguments) = try await clientCommand(combination.client, port: port, tls: false,
                                                                testCase: "rich_error_details")
        let result = try await ChildProcess(clientExecutable, clientArguments).finish()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS rich_error_details"), "\(result.output)")
    }

    @Test("interop-server serves health and both reflection versions beside TestService, and its metrics on --metrics_port")
    func inspectable() async throws {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0", "--metrics_port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let metricsURL = String(try await server.waitForLine(containing: "metrics on").split(separator: " ").last ?? "")
        let health = try await run("python3", ["-c", """
            import grpc; from grpc_health.v1 import health_pb2, health_pb2_grpc
            stub = health_pb2_grpc.HealthStub(grpc.insecure_channel("127.0.0.1:\(port)"))
            print(health_pb2.HealthCheckResponse.ServingStatus.Name(stub.Check(health_pb2.HealthCheckRequest()).status))
            """])
        #expect(health.output.split(separator: "\n").last == "SERVING", "\(health.output)")
        let reflection = try await run("python3", ["Tests/Interop/reflection_peer.py", port, "-", "grpc.testing.TestService.UnaryCall"])
        #expect(reflection.status == 0, "\(reflection.output)")
        for line in ["service grpc.testing.TestService", "service grpc.health.v1.Health",
                     "service grpc.reflection.v1alpha.ServerReflection", "v1 service grpc.reflection.v1.ServerReflection",
                     "method /grpc.testing.TestService/FullDuplexCall in=grpc.testing.StreamingOutputCallRequest out=grpc.testing.StreamingOutputCallResponse client_streaming=1 server_streaming=1",
                     "v1 files grpc/testing/test.proto,grpc/testing/empty.proto,grpc/testing/messages.proto"] {
            #expect(reflection.output.contains(line + "\n"), "no '\(line)' in \(reflection.output)")
        }
        let (client, arguments) = try await clientCommand(.grpcio, port: port, tls: false, testCase: "large_unary")
        let call = try await run(client, arguments)
        #expect(call.status == 0, "\(call.output)")
        var metrics = ""
        for _ in 0..<100 where !metrics.contains(#"grpc_server_call_duration_seconds_count{grpc_method="grpc.testing.TestService/UnaryCall",grpc_status="OK"} 1"#) {
            metrics = try await run("curl", ["-s", metricsURL]).output
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(metrics.contains(#"grpc_server_call_started_total{grpc_method="grpc.testing.TestService/UnaryCall"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"grpc_server_call_duration_seconds_count{grpc_method="grpc.testing.TestService/UnaryCall",grpc_status="OK"} 1"#))
        // Sampled on the scrape: no call is in flight while curl scrapes.
        #expect(metrics.contains("# TYPE grpc_server_connections gauge"), "\(metrics)")
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("grpc_server_active_calls{grpc_server_address=") && $0.hasSuffix(" 0.0") },
                "\(metrics)")
    }

    @Test("20,000 calls leak nothing: neither process's resident memory grows after warm-up")
    func noLeaks() async throws {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let client = buildDirectory.appending(path: "interop-client").path
        func soak(_ calls: Int) async throws -> String {
            let result = try await ChildProcess(client, ["--server_port", port, "--test_case", "unary_soak",
                                              "--soak_iterations", String(calls)]).finish()
            #expect(result.status == 0, "\(result.output)")
            return result.output
        }
        _ = try await soak(2_000)
        let serverBefore = try #require(ResidentMemory.bytes(ofProcess: server.processIdentifier))
        let output = try await soak(20_000)
        let serverAfter = try #require(ResidentMemory.bytes(ofProcess: server.processIdentifier))
        // A leaked call costs kilobytes: 20,000 of them would add tens of megabytes.
        #expect(serverAfter - serverBefore < 4 << 20, "the server grew by \(serverAfter - serverBefore) bytes")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("unary_soak: resident memory grew by") })
        let clientGrowth = try #require(Int(line.split(separator: " ")[5]))
        #expect(clientGrowth < 4 << 20, "the client grew by \(clientGrowth) bytes")
    }

    @Test("mutual TLS: the server requires and checks a client certificate")
    func mutualTLS() async throws {
        let certs = try await Self.certificates().path
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, [
            "--port", "0", "--use_tls", "--tls_cert_file", "\(certs)/server.pem", "--tls_key_file", "\(certs)/server.key",
            "--tls_client_ca_file", "\(certs)/ca.pem",
        ])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let common = ["--server_port", port, "--test_case", "large_unary", "--use_tls", "--ca_file", "\(certs)/ca.pem",
                      "--server_host_override", "localhost"]
        let client = buildDirectory.appending(path: "interop-client").path
        let withCertificate = try await ChildProcess(client, common + ["--tls_cert_file", "\(certs)/client.pem",
                                                              "--tls_key_file", "\(certs)/client.key"]).finish()
        #expect(withCertificate.status == 0, "\(withCertificate.output)")
        let without = try await ChildProcess(client, common).finish()
        #expect(without.status != 0, "a client without a certificate got through")
        #expect(without.output.contains("FAIL large_unary"))
    }
}

enum InteropTestsCases {
    /// The standard client test cases every run must pass.
    static let standard = [
        "empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary", "client_streaming",
        "client_compressed_streaming", "server_streaming", "server_compressed_streaming", "ping_pong", "empty_stream",
        "custom_metadata", "status_code_and_message", "special_status_message", "unimplemented_method",
        "unimplemented_service", "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
    ]

    /// The cases a client runs against `server`. A Python grpcio server cannot see whether a
    /// request arrived compressed, so it lacks the CompressedRequest feature the client
    /// compression cases probe for; against it the Sluice client runs grpc-java's variants
    /// without the probe, as gRPC's own interop matrix skips those cases for such servers.
    static func cases(client: Peer, server: Peer) -> [String] {
        guard client == .sluice, server == .grpcio else { return standard }
        return standard.map { $0.hasPrefix("client_compressed_") ? $0 + "_noprobe" : $0 }
    }
}

/// grpc-go 1.33 (Debian's golang-google-grpc-dev), built offline, against Sluice at volume.
/// grpc-go sends bandwidth-estimation pings while data flows: keepalive enforcement and
/// swift-nio-http2's control-frame limit must not mistake them for abuse.
@Suite("Soak against grpc-go", .serialized, .timeLimit(.minutes(14)))
struct GRPCGoSoakTests {
    private static let peerOnce = AsyncOnce<URL>()

    /// The grpc-go peer, built from Tests/Interop/grpcgo-peer once per run.
    static func peer() async throws -> URL {
        try await peerOnce.get {
            let output = FileManager.default.temporaryDirectory.appending(path: "grpcgo-peer-\(getpid())")
            var environment = ProcessInfo.processInfo.environment
            environment["GO111MODULE"] = "off"
            environment["GOPATH"] = "/usr/share/gocode"
            environment["GOCACHE"] = FileManager.default.temporaryDirectory.appending(path: "sluice-gocache").path
            let built = try await run("go", ["build", "-o", output.path, "."],
                                      in: repositoryRoot.appending(path: "Tests/Interop/grpcgo-peer"),
                                      environment: environment)
            guard built.status == 0 else { throw ChildProcessError(description: "go build: \(built.output)") }
            return output
        }
    }

    @Test("a grpc-go client: 30,000 unary calls and 300,000 streamed messages, no errors")
    func grpcGoClient() async throws {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let result = try await ChildProcess(try await Self.peer().path, ["client", "--port", port, "--unary", "30000", "--stream", "300000"]).finish()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("unary: 30000 calls, 0 failed"))
        #expect(result.output.contains("stream: 300000 messages, 300000 received, 0 bad"))
        // One call at a time, past the 20,000 bandwidth-estimation pings that once tripped
        // a control-frame limit.
        let sequential = try await ChildProcess(try await Self.peer().path, ["client", "--port", port, "--unary", "25000", "--stream", "0",
                                                      "--concurrency", "1"]).finish()
        #expect(sequential.status == 0, "\(sequential.output)")
        #expect(sequential.output.contains("unary: 25000 calls, 0 failed"))
    }

    @Test("against a grpc-go server: 30,000 unary calls and 300,000 streamed messages, no errors")
    func grpcGoServer() async throws {
        let server = try ChildProcess(try await Self.peer().path, ["server", "--port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let client = buildDirectory.appending(path: "interop-client").path
        let unary = try await ChildProcess(client, [
            "--server_port", port, "--test_case", "unary_soak", "--soak_iterations", "30000",
        ]).finish()
        #expect(unary.status == 0, "\(unary.output)")
        #expect(unary.output.contains("PASS unary_soak"))
        // One call at a time: grpc-go pings for bandwidth estimation after every call, and
        // the client once stopped after 20,000 calls (its control-frame limit sent GOAWAY and
        // the connection was never closed, so the call in flight waited forever).
        let sequential = try await ChildProcess(client, [
            "--server_port", port, "--test_case", "unary_soak", "--soak_iterations", "25000", "--soak_concurrency", "1",
        ]).finish()
        #expect(sequential.status == 0, "\(sequential.output)")
        #expect(sequential.output.contains("PASS unary_soak"))
        // The request stream is what the client's outbox and HTTP/2 flow control carry.
        let streaming = try await ChildProcess(client, [
            "--server_port", port, "--test_case", "streaming_soak", "--soak_messages", "300000",
        ]).finish()
        #expect(streaming.status == 0, "\(streaming.output)")
        #expect(streaming.output.contains("PASS streaming_soak"))
    }
}
