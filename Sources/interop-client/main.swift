// The gRPC interop test client:
// interop-client --server_host H --server_port P --test_case NAME [--use_tls ...]
import ArgumentParser
import Foundation
import Sluice
import SluiceHTTP2
import SluiceInterop

@main
struct InteropClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interop-client",
                                                    abstract: "Runs gRPC interop test cases against a server.")

    @Option(name: .customLong("server_host"), help: "Server host.")
    var serverHost: String = "127.0.0.1"

    @Option(name: .customLong("server_port"), help: "Server port.")
    var serverPort: Int = 10000

    @Option(name: .customLong("test_case"), help: "A test case name, several separated by commas, or 'all'.")
    var testCase: String = "large_unary"

    @Option(name: .customLong("soak_iterations"), help: "Calls made by unary_soak.")
    var soakIterations: Int = 1000

    @Option(name: .customLong("soak_concurrency"), help: "Calls unary_soak keeps in flight.")
    var soakConcurrency: Int = 16

    @Option(name: .customLong("soak_messages"), help: "Messages sent by streaming_soak.")
    var soakMessages: Int = 10000

    @Flag(name: .customLong("use_tls"), help: "Connect with TLS.")
    var useTLS = false

    @Option(name: .customLong("server_host_override"), help: "Host name to verify the server's certificate against.")
    var serverHostOverride: String?

    @Option(name: .customLong("ca_file"), help: "PEM CA certificate to trust (default: the system's).")
    var caFile: String?

    @Option(name: .customLong("tls_cert_file"), help: "Client certificate for mTLS.")
    var certificate: String?

    @Option(name: .customLong("tls_key_file"), help: "Client key for mTLS.")
    var key: String?

    func run() async throws {
        let cases: [InteropTestCase]
        let soak = SoakTestCase(rawValue: testCase)
        let extensionCase = ExtensionTestCase(rawValue: testCase)
        if testCase == "all" {
            cases = InteropTestCase.standard
        } else if soak != nil || extensionCase != nil {
            cases = []
        } else {
            cases = try testCase.split(separator: ",").map { name in
                guard let one = InteropTestCase(rawValue: String(name)) else {
                    let known = InteropTestCase.allCases.map(\.rawValue) + SoakTestCase.allCases.map(\.rawValue)
                        + ExtensionTestCase.allCases.map(\.rawValue)
                    throw ValidationError("unknown test case \(name); known: \(known.joined(separator: ", "))")
                }
                return one
            }
        }
        var configuration = HTTP2ClientTransport.Configuration()
        if useTLS {
            configuration.tls = try InteropTLS.client(ca: caFile, certificate: certificate, key: key)
            configuration.serverHostname = serverHostOverride
        }
        let transport = try HTTP2ClientTransport(target: .host(serverHost, port: serverPort), configuration: configuration)
        let client = InteropClient(client: GRPCClient(transport: transport))
        var failed = 0
        if let soak {
            let start = ContinuousClock.now
            do {
                switch soak {
                case .unarySoak:
                    // After a warm-up, resident memory should stay flat: a call that leaks
                    // shows up as kilobytes times the number of calls.
                    try await client.unarySoak(calls: min(2_000, soakIterations), concurrency: soakConcurrency)
                    let before = ResidentMemory.bytes()
                    try await client.unarySoak(calls: soakIterations, concurrency: soakConcurrency)
                    if let before, let after = ResidentMemory.bytes() {
                        print("unary_soak: resident memory grew by \(after - before) bytes after warm-up")
                    }
                case .streamingSoak: try await client.streamingSoak(messages: soakMessages)
                }
                print("PASS \(soak.rawValue) in \(start.duration(to: .now))")
            } catch {
                failed += 1
                print("FAIL \(soak.rawValue): \(error)")
            }
        }
        if let extensionCase {
            do {
                switch extensionCase {
                case .richErrorDetails: try await client.richErrorDetails()
                }
                print("PASS \(extensionCase.rawValue)")
            } catch {
                failed += 1
                print("FAIL \(extensionCase.rawValue): \(error)")
            }
        }
        for testCase in cases {
            do {
                try await client.run(testCase)
                print("PASS \(testCase.rawValue)")
            } catch {
                failed += 1
                print("FAIL \(testCase.rawValue): \(error)")
            }
        }
        await transport.close()
        if failed > 0 { throw ExitCode(1) }
    }
}
