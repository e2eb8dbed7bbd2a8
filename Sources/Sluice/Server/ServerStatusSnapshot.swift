/// What a transport's server side is doing now.
public struct ServerTransportActivity: Sendable, Hashable, Codable {
    /// Where it accepts calls, once it listens (`ipv4:127.0.0.1:50051`).
    public var listeningAddress: String?
    /// Connections open now.
    public var openConnections: Int
    /// Calls whose handlers are running now.
    public var callsInFlight: Int
    /// Whether it has begun shutting down (no new calls).
    public var shuttingDown: Bool

    /// Activity as a transport reports it.
    public init(listeningAddress: String?, openConnections: Int, callsInFlight: Int, shuttingDown: Bool) {
        self.listeningAddress = listeningAddress
        self.openConnections = openConnections
        self.callsInFlight = callsInFlight
        self.shuttingDown = shuttingDown
    }
}

/// A server's status at one moment, for a status page, a log line or an admin RPC (seed 001's
/// service status): its services and methods, their health where known, and what its
/// transport is doing. `Codable`, so `JSONEncoder` prints it.
public struct ServerStatusSnapshot: Sendable, Hashable, Codable {
    /// One hosted service.
    public struct Service: Sendable, Hashable, Codable {
        /// Its full name, `spooled.v1.QueueService`.
        public var name: String
        /// Its methods' names, sorted.
        public var methods: [String]
        /// Its health status (`SERVING`, `NOT_SERVING`, ...), if a health service knows it.
        public var health: String?
    }

    /// The services, sorted by name.
    public var services: [Service]
    /// The whole server's health (the health service's empty name), if known.
    public var health: String?
    /// The transport's activity, if the transport reports it (HTTP/2 does).
    public var transport: ServerTransportActivity?
}

extension ServerTransport {
    /// No activity reported.
    public var activity: ServerTransportActivity? { nil }
}

extension GRPCServer {
    /// The server's status now. `health` gives a service's health status by name (the empty
    /// name for the whole server); `SluiceHealth` has an overload that takes its service.
    public func statusSnapshot(health: (String) -> String? = { _ in nil }) -> ServerStatusSnapshot {
        let byService = Dictionary(grouping: methods, by: \.service)
        let services = byService.map { name, methods in
            ServerStatusSnapshot.Service(name: name, methods: methods.map(\.method).sorted(), health: health(name))
        }.sorted { $0.name < $1.name }
        return ServerStatusSnapshot(services: services, health: health(""), transport: transport.activity)
    }
}
