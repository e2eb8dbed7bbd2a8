// Spooled's gRPC API (QueueService and WorkerService) on a durable store, with the batteries:
// health, reflection, a log line per call with its x-trace-id, Prometheus metrics, a lease
// reaper, and a graceful shutdown on SIGTERM.
//   spooled-server --port 50051 --api-key sk_test_demo [--store sqlite:PATH | --store postgres://USER@HOST:PORT/DB]
//                  [--api-keys keys.json] [--metrics-port 9464]
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
    @Option(name: .customLong("api-key"), help: "An API key of tenant 'default', for every queue (repeatable).")
    var apiKeys: [String] = []
    @Option(name: .customLong("api-keys"), help: "A JSON file of API keys with their tenants, queues and rate limits.")
    var apiKeysFile: String?
    @Option(help: "Where jobs are kept: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (default: SQLite in a temporary file).")
    var store: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on this port (0 picks one).") var metricsPort: Int?
    @Option(name: .customLong("max-message-bytes"), help: "The largest request message accepted.") var maxMessageBytes = 1 << 20

    func run() async throws {
        var logger = Logger(label: "spooled") { StreamLogHandler.standardOutput(label: $0) }
        logger.logLevel = .info
        let location = try storeLocation()
        let tenants = try tenantDirectory()
        var storeLogger = logger
        storeLogger.logLevel = .warning
        let jobs: any JobStore
        do {
            jobs = try await location.open(logger: storeLogger)
        } catch let error as JobStoreError {
            throw ValidationError("\(location): \(error)")
        } catch {
            throw ValidationError("cannot open the store \(location): \(String(reflecting: error))")
        }
        say("spooled-server store \(location)")

        let health = HealthService()
        let services: [any RegistrableService] = [
            QueueServiceProvider(store: jobs, tenants: tenants), WorkerServiceProvider(store: jobs, tenants: tenants), health,
        ]
        var transportConfiguration = HTTP2ServerTransport.Configuration()
        transportConfiguration.maxReceiveMessageSize = maxMessageBytes
        // REST/JSON beside gRPC on the same port, from spooled.proto's google.api.http options.
        var restConfiguration = RESTConfiguration()
        restConfiguration.maxBodyBytes = maxMessageBytes
        transportConfiguration.rest = try RESTTranscoder(services: services, configuration: restConfiguration)
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: port), configuration: transportConfiguration)
        let registry = PrometheusCollectorRegistry()
        let factory = GRPCPrometheusNaming.metricsFactory(registry: registry)
        let server = GRPCServer(
            transport: transport,
            services: services + [try ReflectionService(describing: services)],
            interceptors: [
                ServerCorrelationInterceptor(), ServerLoggingInterceptor(logger: logger),
                ServerMetricsInterceptor(factory: factory),
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
        let reaper = LeaseReaper(store: jobs)
        let reaperLogger = logger
        lifecycle.append(.init(service: ClosureService {
            await cancelWhenGracefulShutdown { await reaper.run { reaperLogger.warning("reaping expired leases failed: \($0)") } }
        }))
        lifecycle.append(.init(service: GRPCServerService(server: server, health: health)))
        var groupLogger = logger
        groupLogger.logLevel = .notice
        let group = ServiceGroup(configuration: .init(services: lifecycle, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: groupLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try await transport.listeningAddress
            say("spooled-server listening on port \(address.port ?? port)")
            if let metrics {
                let port = try await metrics.listeningPort
                say("spooled-server metrics on http://127.0.0.1:\(port)/metrics")
            }
            let status = String(decoding: try JSONEncoder().encode(server.statusSnapshot(health: health)), as: UTF8.self)
            say("spooled-server status \(status)")
            try await tasks.next()
        }
        await jobs.close()
    }

    private func storeLocation() throws -> StoreLocation {
        guard let store else {
            let path = FileManager.default.temporaryDirectory.appending(path: "spooled-\(getpid()).db").path
            say("spooled-server: no --store given; keeping jobs in SQLite at \(path)")
            return .sqlite(path: path)
        }
        do {
            return try StoreLocation(parsing: store)
        } catch let error as StoreLocationError {
            throw ValidationError(error.description)
        }
    }

    private func tenantDirectory() throws -> TenantDirectory {
        var keys = apiKeys.map { APIKey(key: $0, tenant: "default") }
        if let apiKeysFile {
            do {
                keys += try TenantDirectory.keys(contentsOf: URL(fileURLWithPath: apiKeysFile))
            } catch let error as TenantConfigurationError {
                throw ValidationError(error.description)
            }
        }
        guard !keys.isEmpty else { throw ValidationError("give at least one --api-key or an --api-keys file") }
        return TenantDirectory(keys: keys)
    }
}

/// Writes a line to standard output at once (print buffers when the output is a file or a
/// pipe), so that a script can follow the server.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
