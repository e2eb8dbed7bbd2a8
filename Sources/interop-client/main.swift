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

    @Option(name: .customLong("target"), help: "A gRPC target (dns:///host:port, ipv4:a:p,b:q, unix:path) instead of --server_host and --server_port.")
    var target: String?

    @Option(name: .customLong("service_config_json"), help: "The channel's default service config, as JSON (gRFC A2).")
    var serviceConfigJSON: String?

    @Option(name: .customLong("soak_max_failures"), help: "Failed iterations rpc_soak and channel_soak allow.")
    var soakMaxFailures: Int = 0

    @Option(name: .customLong("soak_per_iteration_max_acceptable_latency_ms"), help: "Slower iterations of rpc_soak and channel_soak count as failed.")
    var soakMaxLatencyMilliseconds: Int = 1000

    @Option(name: .customLong("soak_overall_timeout_seconds"), help: "rpc_soak and channel_soak stop, failed, after this long.")
    var soakOverallTimeoutSeconds: Int = 600

    @Option(name: .customLong("test_case"), help: "A test case name, several separated by commas, or 'all'.")
    var testCase: String = "large_unary"

    @Option(name: .customLong("soak_iterations"), help: "Calls made by unary_soak.")
    var soakIterations: Int = 1000

    @Option(name: .customLong("soak_concurrency"), help: "Calls unary_soak keeps in flight.")
    var soakConcurrency: Int = 16

    @Option(name: .customLong("soak_messages"), help: "Messages sent by streaming_soak.")
    var soakMessages: Int = 10000

    @Option(name: .customLong("message_format"), help: "proto, or json to call with application/grpc+json.")
    var messageFormat: String = "proto"

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
        let channelSoak = ChannelSoak.Kind(rawValue: testCase)
        if testCase == "all" {
            cases = InteropTestCase.standard
        } else if soak != nil || extensionCase != nil || channelSoak != nil {
            cases = []
        } else {
            cases = try testCase.split(separator: ",").map { name in
                guard let one = InteropTestCase(rawValue: String(name)) else {
                    let known = InteropTestCase.allCases.map(\.rawValue) + SoakTestCase.allCases.map(\.rawValue)
                        + ExtensionTestCase.allCases.map(\.rawValue) + ChannelSoak.Kind.allCases.map(\.rawValue)
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
        let serviceConfig: ServiceConfig
        do {
            serviceConfig = try serviceConfigJSON.map { try ServiceConfig(json: $0) } ?? ServiceConfig()
        } catch {
            throw ValidationError("--service_config_json: \(error)")
        }
        // With --target or a service config, calls go through a channel (resolver, balancer);
        // otherwise through one connection pool, as before.
        let useChannel = target != nil || serviceConfigJSON != nil
        let channelTarget = target ?? (serverHost.contains(":") ? "ipv6:[\(serverHost)]:\(serverPort)" : "dns:///\(serverHost):\(serverPort)")
        let makeTransport: () throws -> any ClientTransport = { [serverHost, serverPort, configuration] in
            if useChannel {
                return try GRPCChannel(http2: channelTarget, configuration: configuration, defaultServiceConfig: serviceConfig)
            }
            return try HTTP2ClientTransport(target: .host(serverHost, port: serverPort), configuration: configuration)
        }
        guard let format = MessageFormat(contentSubtype: messageFormat) else {
            throw ValidationError("--message_format: '\(messageFormat)' is neither proto nor json")
        }
        let defaultOptions = CallOptions(messageFormat: format)
        let transport = try makeTransport()
        let client = InteropClient(client: GRPCClient(transport: transport, defaultOptions: defaultOptions, serviceConfig: serviceConfig))
        var failed = 0
        if let channelSoak {
            do {
                let outcome = try await ChannelSoak.run(
                    channelSoak, iterations: soakIterations, maxFailures: soakMaxFailures,
                    maxLatency: .milliseconds(soakMaxLatencyMilliseconds), overallTimeout: .seconds(soakOverallTimeoutSeconds),
                    makeClient: {
                        channelSoak == .rpcSoak ? client.client
                            : GRPCClient(transport: try makeTransport(), defaultOptions: defaultOptions, serviceConfig: serviceConfig)
                    },
                    close: { soakClient in if channelSoak == .channelSoak { await soakClient.close() } })
                print("PASS \(channelSoak.rawValue): \(outcome)")
            } catch {
                failed += 1
                print("FAIL \(channelSoak.rawValue): \(error)")
            }
        }
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
