import Logging
import OTel
import ServiceLifecycle
import ShopAPI
import Sluice
import SluiceHTTP2
import SluiceObservability
import Tracing

/// Seed 001's tracing settings.
public struct ShopTracingOptions: Sendable {
    /// The `service.name` of every span's resource.
    public var serviceName: String
    /// The share of traces kept, 0 to 1. A trace is kept or dropped whole: the servers follow
    /// the caller's decision (a parent-based ratio sampler).
    public var samplingRate: Double
    /// Default tags: resource attributes on every span (`deployment.environment`, ...).
    public var tags: [String: String]
    /// Where spans go: an OTLP/HTTP traces URL, `http://127.0.0.1:4318/v1/traces`.
    public var endpoint: String

    public init(serviceName: String, samplingRate: Double, tags: [String: String] = [:], endpoint: String) {
        self.serviceName = serviceName
        self.samplingRate = samplingRate
        self.tags = tags
        self.endpoint = endpoint
    }

    /// swift-otel's configuration: traces only, exported as OTLP/HTTP protobuf.
    func otelConfiguration() throws -> OTel.Configuration {
        guard let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: samplingRate)
        else {
            throw ShopTracingError.invalidSamplingRate(samplingRate)
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.resourceAttributes = tags
        configuration.diagnosticLogLevel = .warning
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.sampler = sampler
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        // Export soon after spans end, so that a short run shows its spans promptly.
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(200)
        return configuration
    }
}

/// A setting the shop cannot run with.
public enum ShopTracingError: Error, CustomStringConvertible {
    case invalidSamplingRate(Double)

    public var description: String {
        switch self {
        case .invalidSamplingRate(let rate): "sampling rate \(rate) is not between 0 and 1"
        }
    }
}

/// What one run of the chain did.
public struct ShopRun: Sendable {
    /// Each checkout's order id, or its error.
    public var outcomes: [Result<String, RPCError>]
}

/// Runs the traced chain: the inventory and frontend servers on loopback, then `skus.count`
/// checkouts from a client, each traced client -> Frontend -> Inventory. Spans are exported
/// as they end; when the checkouts are done the exporter is shut down gracefully, which sends
/// what is left, so every span has been sent when this returns.
public func runTracedShop(_ options: ShopTracingOptions, skus: [String], logger: Logger = Logger(label: "traced-shop")) async throws
    -> ShopRun
{
    let (tracer, exporter) = try OTel.makeTracingBackend(configuration: options.otelConfiguration())
    let shop = ShopChain(tracer: tracer, skus: skus)
    let group = ServiceGroup(configuration: .init(
        services: [
            // First in, last out: the exporter stops after the shop, flushing its spans.
            .init(service: exporter),
            .init(service: shop, successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup),
        ],
        logger: logger))
    try await group.run()
    return try shop.result
}

/// The two servers and the client, as a service that ends when its checkouts are done.
final class ShopChain: Service, Sendable {
    private let tracer: any Tracer
    private let skus: [String]
    private let outcome = OneShot<Result<ShopRun, any Error>>()

    init(tracer: any Tracer, skus: [String]) {
        self.tracer = tracer
        self.skus = skus
    }

    var result: ShopRun {
        get throws {
            guard let outcome = outcome.peek() else { throw CancellationError() }
            return try outcome.get()
        }
    }

    func run() async throws {
        do {
            outcome.set(.success(try await checkOut()))
        } catch {
            outcome.set(.failure(error))
            throw error
        }
    }

    private func checkOut() async throws -> ShopRun {
        let inventoryServer = GRPCServer(
            transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0)), services: [InventoryService()],
            interceptors: [ServerTracingInterceptor(tracer: tracer)])
        return try await withThrowingTaskGroup(of: Void.self) { servers in
            defer { servers.cancelAll() }
            servers.addTask { try await inventoryServer.serve() }
            let inventoryPort = try await inventoryServer.listeningAddress.port ?? 0
            let toInventory = GRPCClient(
                transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: inventoryPort)),
                interceptors: [ClientTracingInterceptor(tracer: tracer, serverAddress: "127.0.0.1", serverPort: inventoryPort)])
            let frontendServer = GRPCServer(
                transport: HTTP2ServerTransport(target: .host("127.0.0.1", port: 0)),
                services: [FrontendService(inventory: Shop_Inventory.Client(wrapping: toInventory))],
                interceptors: [ServerTracingInterceptor(tracer: tracer)])
            servers.addTask { try await frontendServer.serve() }
            let frontendPort = try await frontendServer.listeningAddress.port ?? 0
            let toFrontend = GRPCClient(
                transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: frontendPort)),
                interceptors: [ClientTracingInterceptor(tracer: tracer, serverAddress: "127.0.0.1", serverPort: frontendPort)])
            let frontend = Shop_Frontend.Client(wrapping: toFrontend)
            var outcomes: [Result<String, RPCError>] = []
            for sku in skus {
                var request = Shop_CheckoutRequest()
                request.sku = sku
                request.quantity = 1
                do {
                    outcomes.append(.success(try await frontend.checkout(request).message.orderID))
                } catch let error as RPCError {
                    outcomes.append(.failure(error))
                }
            }
            await toFrontend.close()
            await toInventory.close()
            return ShopRun(outcomes: outcomes)
        }
    }
}
