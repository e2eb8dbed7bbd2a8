import Foundation
import SluiceTestSupport
import Testing

/// The Sluice interop client's channel in front of other implementations' servers: three
/// C-core (Python grpcio) servers behind one round_robin target with a retry policy, soaked
/// with the interop spec's rpc_soak and channel_soak.
@Suite("A Sluice channel over gRPC C-core servers", .serialized, .timeLimit(.minutes(5)))
struct ChannelInteropTests {
    static let serviceConfig = """
        {"loadBalancingConfig": [{"round_robin": {}}],
         "methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
           "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                           "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
        """

    @Test("rpc_soak and channel_soak through --target and --service_config_json", arguments: ["rpc_soak", "channel_soak"])
    func soak(_ testCase: String) async throws {
        var servers: [ChildProcess] = []
        var ports: [String] = []
        defer { for server in servers { server.killNow() } }
        for _ in 0..<3 {
            let server = try ChildProcess("python3", ["Tests/Interop/python_interop.py", "server", "--port", "0"])
            servers.append(server)
            ports.append(String(try await server.waitForLine(containing: "listening on port").split(separator: " ").last ?? ""))
        }
        let target = "ipv4:" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ",")
        let result = try await ChildProcess(buildDirectory.appending(path: "interop-client").path, [
            "--target", target, "--service_config_json", Self.serviceConfig, "--test_case", testCase,
            "--soak_iterations", "60", "--soak_max_failures", "0", "--soak_per_iteration_max_acceptable_latency_ms", "5000",
        ]).finish()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS \(testCase): 60 iterations, 0 failed"), "\(result.output)")
    }

    @Test("a bad --service_config_json is refused, naming the field")
    func badConfig() async throws {
        let result = try await ChildProcess(buildDirectory.appending(path: "interop-client").path, [
            "--service_config_json", #"{"methodConfig": [{"name": [{"service": "s"}], "timeout": "2"}]}"#,
            "--test_case", "empty_unary",
        ]).finish()
        #expect(result.status != 0)
        #expect(result.output.contains("$.methodConfig[0].timeout"), "\(result.output)")
    }
}
