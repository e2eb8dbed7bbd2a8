import Foundation
import InteropMessages
import Sluice
import SluiceHTTP2
import SluiceTestSupport
import Testing

/// Sluice's retries against gRPC C-core's (Python grpcio), with the same service config,
/// against the same fault-injecting Sluice interop server: the same attempt counts and final
/// statuses for the same failure patterns.
@Suite("Retries cross-checked with gRPC C-core", .serialized, .timeLimit(.minutes(3)))
struct RetryCrossCheckTests {
    static let serviceConfig = """
        {"methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
          "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                          "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
        """

    /// How many of the first attempts the server fails, for each call.
    static let patterns = ["0", "1", "2", "3", "4", "7"]

    @Test("grpcio and Sluice take the same attempts and end with the same status for each failure pattern")
    func sameAttempts() async throws {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0"])
        defer { server.killNow() }
        let port = String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")

        let python = try await ChildProcess("python3", ["Tests/Interop/retry_peer.py", port, Self.serviceConfig] + Self.patterns).finish()
        #expect(python.status == 0, "\(python.output)")
        let cCore = python.output.split(separator: "\n").filter { $0.first?.isNumber == true }.map(String.init)

        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: Int(port) ?? 0)),
                                serviceConfig: try ServiceConfig(json: Self.serviceConfig))
        let stub = Grpc_Testing_TestService.Client(wrapping: client)
        var sluice: [String] = []
        for count in Self.patterns {
            let metadata: Metadata = ["x-fail-attempts": .string(count)]
            do {
                let response = try await stub.emptyCall(Grpc_Testing_Empty(), metadata: metadata)
                sluice.append("\(count) OK \(Self.attempt(response.trailers))")
            } catch let error as RPCError {
                sluice.append("\(count) \(error.code) \(Self.attempt(error.metadata))")
            }
        }
        await client.close()
        // 0 to 3 failures: success on attempt 1 to 4; 4 or more: UNAVAILABLE after the 4 allowed.
        #expect(sluice == ["0 OK 1", "1 OK 2", "2 OK 3", "3 OK 4", "4 UNAVAILABLE 4", "7 UNAVAILABLE 4"])
        #expect(cCore == sluice, "grpcio: \(cCore)\nsluice: \(sluice)")
    }

    static func attempt(_ metadata: Metadata) -> String {
        guard case .string(let text)? = metadata["x-attempt"].first else { return "?" }
        return text
    }
}
