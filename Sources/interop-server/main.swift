// The gRPC interop test server: interop-server --port N [--use_tls ...] [--metrics_port P]
//
// Beside grpc.testing.TestService it always serves the health service and both reflection
// services, so that any tool (grpcurl, grpc_health_probe, grpcio's clients) can inspect it.
import ArgumentParser
import Foundation
import Logging
import Prometheus
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceInterop
import SluiceObservability
import SluicePrometheus
import SluiceReflection
import SluiceServiceLifecycle
import ServiceLifecycle

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

    @Option(name: .customLong("metrics_port"), help: "Serve Prometheus metrics on http://127.0.0.1:P/metrics (0 picks a port and prints it).")
    var metricsPort: Int?

    @Option(name: .customLong("grace_period_s"), help: "How long calls in flight may run after SIGTERM before they are cancelled.")
    var gracePeriodSeconds: Int = 10

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
        let health = HealthService()
        let services: [any RegistrableService] = [TestServiceProvider(), health]
        let reflection = try ReflectionService(describing: services)
        // Inert unless a call carries x-fail-attempts (RetryProbeInterceptor).
        var interceptors: [any ServerInterceptor] = [RetryProbeInterceptor()]
        let registry = PrometheusCollectorRegistry()
        let factory = GRPCPrometheusNaming.metricsFactory(registry: registry)
        if metricsPort != nil {
            interceptors.insert(ServerMetricsInterceptor(factory: factory), at: 0)
        }
        let server = GRPCServer(transport: transport, services: services + [reflection], interceptors: interceptors,
                                shutdownGracePeriod: .seconds(gracePeriodSeconds))
        // Connections and calls in flight, sampled on each scrape.
        let gauges = StatusGauges(factory: factory)
        let metrics = metricsPort.map { port in
            PrometheusMetricsServer(registry: registry, port: port, beforeScrape: { gauges.record(server.statusSnapshot()) })
        }
        // SIGTERM and SIGINT drain: health NOT_SERVING, no new calls, those in flight finish
        // (for up to the grace period), exit 0.
        var lifecycle: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics {
            lifecycle.append(.init(service: ClosureService { try await cancelWhenGracefulShutdown { try await metrics.run() } }))
        }
        lifecycle.append(.init(service: GRPCServerService(server: server, health: health)))
        var logger = Logger(label: "interop-server")
        logger.logLevel = .notice
        let group = ServiceGroup(configuration: .init(services: lifecycle, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            if let metrics {
                let port = try await metrics.listeningPort
                FileHandle.standardOutput.write(Data("interop-server metrics on http://127.0.0.1:\(port)/metrics\n".utf8))
            }
            let address = try await transport.listeningAddress
            // Written unbuffered: test harnesses read the port from it.
            FileHandle.standardOutput.write(Data("interop-server listening on port \(address.port ?? port)\n".utf8))
            try await tasks.next()
        }
        FileHandle.standardOutput.write(Data("interop-server stopped\n".utf8))
    }
}
