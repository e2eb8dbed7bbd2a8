import Sluice
import SluiceProto
import Synchronization

/// Seed 001's periodic health monitor: every `interval`, calls `grpc.health.v1.Health/Check`
/// on each endpoint (each through a subchannel of its own, so the result is that endpoint's),
/// giving each check `timeout` and `retries` more tries before reporting it unhealthy; the
/// latest result per endpoint is readable from code.
///
///     let monitor = HealthMonitor(endpoints: endpoints, subchannels: HTTP2SubchannelFactory(), service: "orders")
///     Task { await monitor.run() }
///     monitor.statuses    // [Endpoint: HealthMonitor.Result]
public final class HealthMonitor: Sendable {
    /// What the last round of checks found for one endpoint.
    public struct Result: Sendable, Hashable {
        /// SERVING, NOT_SERVING, UNKNOWN, or nil when the endpoint could not be asked.
        public var status: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        /// Why the check failed, when it did (a timeout, NOT_FOUND for an unknown service,
        /// UNAVAILABLE for an unreachable endpoint).
        public var error: RPCError?
        /// Tries the round took (1 plus the retries used).
        public var tries: Int
        public var checkedAt: ContinuousClock.Instant

        /// Whether the endpoint answered SERVING.
        public var isServing: Bool { status == .serving }
    }

    public let endpoints: [Endpoint]
    public let service: String
    public let interval: Duration
    public let timeout: Duration
    public let retries: Int
    private let clients: [(Endpoint, GRPCClient)]
    private let results = Mutex<[Endpoint: Result]>([:])

    /// A monitor of `endpoints`; nothing is checked until ``run()`` or ``checkNow()``.
    ///
    /// - Throws: What the factory throws for an endpoint it cannot reach.
    public init(endpoints: [Endpoint], subchannels: any SubchannelFactory, service: String = "",
                interval: Duration = .seconds(10), timeout: Duration = .seconds(2), retries: Int = 2) throws {
        self.endpoints = endpoints
        self.service = service
        self.interval = interval
        self.timeout = timeout
        self.retries = max(0, retries)
        self.clients = try endpoints.map { endpoint in
            (endpoint, GRPCClient(transport: SubchannelTransport(try subchannels.makeSubchannel(for: endpoint))))
        }
    }

    /// The latest result per endpoint.
    public var statuses: [Endpoint: Result] { results.withLock { $0 } }

    /// Checks every endpoint every `interval` until the task is cancelled, then closes the
    /// monitor's connections.
    public func run() async {
        while !Task.isCancelled {
            await checkNow()
            guard (try? await Task.sleep(for: interval)) != nil else { break }
        }
        for (_, client) in clients { await client.close() }
    }

    /// Checks every endpoint once, concurrently, and records the results.
    public func checkNow() async {
        await withTaskGroup(of: (Endpoint, Result).self) { group in
            for (endpoint, client) in clients {
                group.addTask { (endpoint, await self.check(client)) }
            }
            for await (endpoint, result) in group {
                results.withLock { $0[endpoint] = result }
            }
        }
    }

    private func check(_ client: GRPCClient) async -> Result {
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        var lastError: RPCError?
        var options = CallOptions(timeout: timeout)
        options.waitForReady = false
        for attempt in 1...(retries + 1) {
            do {
                let response = try await health.check(request, options: options)
                return Result(status: response.status, error: nil, tries: attempt, checkedAt: .now)
            } catch let error as RPCError {
                lastError = error
                // The server answered: retrying would only ask the same question again.
                if error.code == .notFound || error.code == .unimplemented { return Result(status: nil, error: error, tries: attempt, checkedAt: .now) }
            } catch {
                lastError = RPCError(code: .unknown, message: "\(error)")
            }
        }
        return Result(status: nil, error: lastError, tries: retries + 1, checkedAt: .now)
    }
}

/// One subchannel as a client transport: calls go to its endpoint and nowhere else.
struct SubchannelTransport: ClientTransport {
    let subchannel: any Subchannel

    init(_ subchannel: any Subchannel) {
        self.subchannel = subchannel
    }

    func openStream(_ head: RequestHead) async throws -> ClientStream {
        try await subchannel.openStream(head)
    }

    func close() async {
        await subchannel.shutdown()
    }
}
