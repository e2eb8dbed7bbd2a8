// Spooled's gRPC API (QueueService and WorkerService) on a durable store, with the batteries:
// health, reflection, a log line per call with its x-trace-id, Prometheus metrics, a lease
// reaper, and a graceful shutdown on SIGTERM. With --registry it registers in etcd as service
// `spooled` (workers find it as etcd:///spooled) and, on a shared PostgreSQL store, runs the
// lease reaper only while it leads the election `spooled/lease-reaper`.
//   spooled-server --port 50051 --api-key sk_test_demo [--store sqlite:PATH | --store postgres://USER@HOST:PORT/DB]
//                  [--api-keys keys.json] [--metrics-port 9464]
//                  [--registry etcd://HOST:PORT[,HOST:PORT...] [--node-id ID] [--advertise-host HOST]]
import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Sluice
import SluiceHealth
import SluiceEtcd
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
    @Option(help: "Register in this etcd as service 'spooled': etcd://HOST:PORT[,HOST:PORT...].") var registry: String?
    @Option(name: .customLong("node-id"), help: "This server's id in the registry and the election (default: spooled-PID).")
    var nodeID: String?
    @Option(name: .customLong("advertise-host"), help: "The address registered for clients to reach this server.")
    var advertiseHost = "127.0.0.1"

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
        let cluster = try cluster(logger: logger)
        let reaper = LeaseReaper(store: jobs)
        let reaperLogger = logger
        let electReaper = cluster != nil && { if case .postgres = location { true } else { false } }()
        lifecycle.append(.init(service: ClosureService {
            await cancelWhenGracefulShutdown {
                let reap: @Sendable () async -> Void = { await reaper.run { reaperLogger.warning("reaping expired leases failed: \($0)") } }
                guard electReaper, let cluster else { return await reap() }
                // Several servers on one database: one of them reaps, the one leading.
                await cluster.election.leading(as: cluster.nodeID, onChange: { _, leads in
                    say("spooled-server \(cluster.nodeID) \(leads ? "leads" : "no longer leads") the lease reaper")
                }) { leadership in
                    if let info = try? await cluster.info(leadership: leadership) { say("spooled-server cluster \(info.json)") }
                    await reap()
                }
            }
        }))
        let registration = cluster.map { cluster in
            let host = advertiseHost
            return GRPCServerService.Registration(in: cluster.registry) { address in
                ServiceInstance(service: "spooled", id: cluster.nodeID, address: "\(host):\(address.port ?? 0)", version: "1")
            }
        }
        lifecycle.append(.init(service: GRPCServerService(server: server, health: health, registration: registration)))
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
            if let cluster {
                say("spooled-server registering in \(cluster.registry.client.configuration.endpoints.joined(separator: ",")) as spooled/\(cluster.nodeID)")
            }
            try await tasks.next()
        }
        await cluster?.registry.client.close()
        await jobs.close()
    }

    /// The cluster on etcd that `--registry` names, if it names one.
    private func cluster(logger: Logger) throws -> EtcdCluster? {
        guard let registry else { return nil }
        var configuration: EtcdConfiguration
        do {
            configuration = try EtcdConfiguration(url: registry)
        } catch let error as EtcdError {
            throw ValidationError("--registry: \(error)")
        }
        var etcdLogger = logger
        etcdLogger.logLevel = .warning
        configuration.logger = etcdLogger
        let client = try EtcdClient(configuration)
        let nodeID = self.nodeID ?? "spooled-\(getpid())"
        // The election's timeout is the time a crashed leader keeps reaping stopped: short,
        // since a stopped reaper only delays requeueing.
        let election = EtcdElection(client: client, name: "spooled/lease-reaper", heartbeatInterval: .seconds(1),
                                    electionTimeout: .seconds(3))
        return EtcdCluster(registry: EtcdServiceRegistry(client: client), service: "spooled", election: election, nodeID: nodeID)
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

extension ClusterInfo {
    /// One line of JSON, for the log.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Writes a line to standard output at once (print buffers when the output is a file or a
/// pipe), so that a script can follow the server.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
