/// One instance of a service as a ``ServiceRegistry`` holds it: where to reach it and what it
/// publishes about itself (seed 001's version, zone, weight and tags).
public struct ServiceInstance: Sendable, Hashable, CustomStringConvertible {
    /// The service's name, as resolver targets name it: `etcd:///<service>`, `memory:///<service>`.
    public var service: String
    /// Unique among the service's instances.
    public var id: String
    /// Where to connect: `host:port` (an IPv6 host in brackets) or `unix:PATH`.
    public var address: String
    /// The version the instance runs, if it says.
    public var version: String
    /// The zone or region the instance runs in, if it says.
    public var zone: String
    /// Its share of load for weighted balancing: 1 by default.
    public var weight: Int
    /// Free-form labels.
    public var tags: [String]
    /// Anything else the instance publishes.
    public var metadata: [String: String]

    /// An instance of `service` reachable at `address`.
    public init(service: String, id: String, address: String, version: String = "", zone: String = "", weight: Int = 1,
                tags: [String] = [], metadata: [String: String] = [:]) {
        self.service = service
        self.id = id
        self.address = address
        self.version = version
        self.zone = zone
        self.weight = weight
        self.tags = tags
        self.metadata = metadata
    }

    public var description: String { "\(service)/\(id) at \(address)" }

    /// The attribute keys an instance's ``endpoint()`` carries.
    public enum AttributeKey {
        public static let instanceID = "instance-id"
        public static let version = "version"
        public static let zone = "zone"
        public static let weight = "weight"
        /// The tags, joined by commas.
        public static let tags = "tags"
    }

    /// The instance as a channel's endpoint, its version, zone, weight and tags as attributes.
    ///
    /// - Throws: ``ResolverTargetError`` when ``address`` is not an IP address with a port or a
    ///   `unix:` path (a registry holds addresses, not names to look up).
    public func endpoint() throws -> Endpoint {
        let target = ResolverTarget(scheme: "ipv4", endpoint: address)
        let resolved: EndpointAddress
        if address.hasPrefix("unix:") {
            resolved = .unixDomainSocket(path: String(address.dropFirst("unix:".count)))
        } else {
            let (host, port) = try target.hostAndPort(address, defaultPort: -1)
            guard port > 0 else {
                throw ResolverTargetError(target: address, problem: "instance \(id) of \(service) has no port in its address")
            }
            if EndpointAddress.isIPv4(host) {
                resolved = .ipv4(host: host, port: port)
            } else if EndpointAddress.isIPv6(host) {
                resolved = .ipv6(host: host, port: port)
            } else {
                throw ResolverTargetError(target: address, problem: "instance \(id) of \(service): '\(host)' is not an IP address")
            }
        }
        var attributes = [AttributeKey.instanceID: id, AttributeKey.weight: String(weight)]
        if !version.isEmpty { attributes[AttributeKey.version] = version }
        if !zone.isEmpty { attributes[AttributeKey.zone] = zone }
        if !tags.isEmpty { attributes[AttributeKey.tags] = tags.joined(separator: ",") }
        return Endpoint(resolved, attributes: attributes)
    }
}
