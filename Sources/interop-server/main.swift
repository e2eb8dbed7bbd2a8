// The gRPC interop test server: interop-server --port N [--use_tls ...]
import ArgumentParser
import Foundation
import Sluice
import SluiceHTTP2
import SluiceInterop

@main
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interop-server",
                                                    abstract: "Serves grpc.testing.TestService for interop tests.")

    @Option(name: .customLong("port"), help: "Port to listen on (0 picks one and prints it).")
    var port: Int = 10000

    @Option(name: .customLong("host"), help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Flag(name: .customLong("use_tls"), help: "Serve TLS.")
    var useTLS = false

    @Option(name: .customLong("tls_cert_file"), help: "PEM certificate chain for TLS.")
    var certificate: String?

    @Option(name: .customLong("tls_key_file"), help: "PEM private key for TLS.")
    var key: String?

    @Option(name: .customLong("tls_client_ca_file"), help: "Require client certificates signed by this CA (mTLS).")
    var clientCA: String?

    @Option(name: .customLong("handshake_timeout_ms"), help: "Close connections that send no preface in this time.")
    var handshakeTimeoutMilliseconds: Int?

    @Option(name: .customLong("max_connections"), help: "Connections served at once (default: from the descriptor limit).")
    var maxConnections: Int?

    func run() async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        if let handshakeTimeoutMilliseconds {
            configuration.connectionLimits.handshakeTimeout = .milliseconds(handshakeTimeoutMilliseconds)
        }
        configuration.connectionLimits.maxConnections = maxConnections
        if useTLS {
            guard let certificate, let key else {
                throw ValidationError("--use_tls needs --tls_cert_file and --tls_key_file")
            }
            configuration.tls = try InteropTLS.server(certificate: certificate, key: key, clientCA: clientCA)
        }
        let transport = HTTP2ServerTransport(target: .host(host, port: port), configuration: configuration)
        // Inert unless a call carries x-fail-attempts (RetryProbeInterceptor).
        let server = GRPCServer(transport: transport, services: [TestServiceProvider()], interceptors: [RetryProbeInterceptor()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let address = try await transport.listeningAddress
            // Written unbuffered: test harnesses read the port from it.
            FileHandle.standardOutput.write(Data("interop-server listening on port \(address.port ?? port)\n".utf8))
            try await group.next()
        }
    }
}
