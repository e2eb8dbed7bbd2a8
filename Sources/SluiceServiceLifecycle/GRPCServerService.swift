import Logging
import ServiceLifecycle
import Sluice
import SluiceHealth

/// A ``Sluice/GRPCServer`` as a swift-service-lifecycle `Service`:
///
///     let health = HealthService()
///     let server = GRPCServer(transport: transport, services: [orders, health])
///     let group = ServiceGroup(configuration: .init(
///         services: [.init(service: GRPCClientService(client: downstream)),
///                    .init(service: GRPCServerService(server: server, health: health))],
///         gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
///     try await group.run()
///
/// On graceful shutdown (SIGTERM or SIGINT through the group, or another service ending) it
/// sets every service of `health` NOT_SERVING, so that health-checking clients move away
/// first; stops accepting calls (a GOAWAY on HTTP/2); lets the calls in flight run for up to
/// `gracePeriod`; then cancels what remains. `run()` returns once every call has ended, so the
/// process can exit 0. Cancelling `run()` does the same without the health change.
///
/// With a ``Registration``, the server registers itself in a service registry once it
/// listens, and on graceful shutdown leaves the registry before it drains
/// (``Sluice/GRPCServer/serve(registeringIn:as:deregistrationDelay:)``):
///
///     GRPCServerService(server: server, health: health, registration: .init(in: registry) { address in
///         ServiceInstance(service: "orders", id: nodeID, address: "10.0.0.7:\(address.port ?? 0)")
///     })
///
/// A group shuts its services down in reverse order: list the clients a server's handlers
/// call before the server, so that they close after its calls have drained.
public struct GRPCServerService: Service {
    /// Where and as what a server registers itself while it serves.
    public struct Registration: Sendable {
        /// The registry registered in.
        public var registry: any ServiceRegistry
        /// How long the server keeps taking calls after it has left the registry, while
        /// watching clients move away.
        public var deregistrationDelay: Duration
        /// The instance registered, made from the address the server listens on.
        public var instance: @Sendable (ListeningAddress) throws -> ServiceInstance

        /// Registers `instance` in `registry`; `deregistrationDelay` is 1 s unless told.
        public init(in registry: any ServiceRegistry, deregistrationDelay: Duration = .seconds(1),
                    instance: @escaping @Sendable (ListeningAddress) throws -> ServiceInstance) {
            self.registry = registry
            self.deregistrationDelay = deregistrationDelay
            self.instance = instance
        }
    }

    /// The server run.
    public let server: GRPCServer
    /// The health service set NOT_SERVING when shutdown begins.
    public let health: HealthService?
    /// How long calls in flight may run on after shutdown begins.
    public let gracePeriod: Duration
    /// Where the server registers itself while it serves, if anywhere.
    public let registration: Registration?

    /// - Parameters:
    ///   - gracePeriod: By default the server's `shutdownGracePeriod`.
    ///   - registration: Where to register while serving; nowhere by default.
    public init(server: GRPCServer, health: HealthService? = nil, gracePeriod: Duration? = nil,
                registration: Registration? = nil) {
        self.server = server
        self.health = health
        self.gracePeriod = gracePeriod ?? server.shutdownGracePeriod
        self.registration = registration
    }

    public func run() async throws {
        var configured = self.server
        configured.shutdownGracePeriod = gracePeriod
        let server = configured
        let health = self.health
        let registration = self.registration
        // Graceful shutdown cancels serve(), which is the server's own graceful shutdown:
        // no new calls, those in flight run for up to its grace period, then are cancelled.
        // Registered, the server first leaves the registry and waits the deregistration delay.
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown {
                if let registration {
                    try await server.serve(registeringIn: registration.registry, as: registration.instance,
                                           deregistrationDelay: registration.deregistrationDelay)
                } else {
                    try await server.serve()
                }
            }
        } onGracefulShutdown: {
            health?.shutDown()
        }
    }
}

/// A ``Sluice/GRPCClient`` as a swift-service-lifecycle `Service`: it holds the client open
/// until graceful shutdown, then closes it (calls in flight finish; new ones fail), and
/// `run()` returns when the client has closed.
public struct GRPCClientService: Service {
    /// The client closed on shutdown.
    public let client: GRPCClient

    public init(client: GRPCClient) {
        self.client = client
    }

    public func run() async throws {
        // Returns on graceful shutdown, or throws CancellationError if cancelled first.
        try await gracefulShutdown()
        await client.close()
    }
}
