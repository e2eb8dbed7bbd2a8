// Spooled's gRPC API (QueueService and WorkerService) on an in-memory store, with the
// batteries: health, reflection, a log line per call with its x-trace-id, Prometheus metrics,
// and a graceful shutdown on SIGTERM.
//   spooled-server --port 50051 --api-key sk_test_demo [--metrics-port 9464]
import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceObservability
import SluicePrometheus
import SluiceReflection
import SluiceServiceLifecycle
import SpooledQueue

@main
struct SpooledServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spooled-server", abstract: "Serves the Spooled job queue over gRPC.")

    @Option(help: "Port to listen on (0 picks one).") var port = 50051
    @Option(name: .customLong("api-key"), help: "An API key clients must send as x-api-key.") var apiKeys: [String] = ["sk_test_demo"]

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on this port (0 picks one).") var metricsPort: Int?

    func run() async throws {
        var logger = Logger(label: "spooled") { StreamLogHandler.standardOutput(label: $0) }
        logger.logLevel = .info
        let store = JobStore()
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: port))
        let health = HealthService()
        let services: [any RegistrableService] = [QueueServiceProvider(store: store), WorkerServiceProvider(store: store), health]
        let registry = PrometheusCollectorRegistry()
        let factory = GRPCPrometheusNaming.metricsFactory(registry: registry)
        let server = GRPCServer(
            transport: transport,
            services: services + [try ReflectionService(describing: services)],
            interceptors: [
                ServerCorrelationInterceptor(), ServerLoggingInterceptor(logger: logger),
                ServerMetricsInterceptor(factory: factory),
                APIKeyInterceptor(keys: Set(apiKeys)),
            ])
        var lifecycle: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // Connections and calls in flight, sampled on each scrape.
        let gauges = StatusGauges(factory: factory)
        let metrics = metricsPort.map { port in
            PrometheusMetricsServer(registry: registry, port: port, beforeScrape: { gauges.record(server.statusSnapshot()) })
        }
        if let metrics {
            lifecycle.append(.init(service: ClosureService { try await cancelWhenGracefulShutdown { try await metrics.run() } }))
        }
        lifecycle.append(.init(service: GRPCServerService(server: server, health: health)))
        var groupLogger = logger
        groupLogger.logLevel = .notice
        let group = ServiceGroup(configuration: .init(services: lifecycle, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: groupLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try await transport.listeningAddress
            FileHandle.standardOutput.write(Data("spooled-server listening on port \(address.port ?? port)\n".utf8))
            if let metrics {
                let port = try await metrics.listeningPort
                FileHandle.standardOutput.write(Data("spooled-server metrics on http://127.0.0.1:\(port)/metrics\n".utf8))
            }
            let status = String(decoding: try JSONEncoder().encode(server.statusSnapshot(health: health)), as: UTF8.self)
            FileHandle.standardOutput.write(Data("spooled-server status \(status)\n".utf8))
            try await tasks.next()
        }
    }
}
