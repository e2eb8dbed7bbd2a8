import Sluice

/// A cluster as seed 001 shows it: its nodes (the instances of a service in the registry),
/// which of them leads an election, and whether this node is the one.
public struct ClusterInfo: Sendable, Hashable, Codable {
    /// One node of the cluster, as the registry holds it.
    public struct Node: Sendable, Hashable, Codable {
        /// The node's id: its instance id in the registry and its value in the election.
        public var id: String
        /// Where the node serves.
        public var address: String
    }

    /// This node's id.
    public var nodeID: String
    /// The live nodes, ordered by id.
    public var nodes: [Node]
    /// The leader's id, or nil while nobody leads.
    public var leader: String?
    /// Whether this node leads (by its own lease, which is what it may act on).
    public var isLeader: Bool
}

/// Where a node finds its cluster on etcd: the service its nodes register as, and the election
/// they run.
///
///     let cluster = EtcdCluster(registry: registry, service: "spooled", election: reaperElection, nodeID: nodeID)
///     let info = try await cluster.info(leadership: currentLeadership)
public struct EtcdCluster: Sendable {
    /// The registry the nodes register in.
    public let registry: EtcdServiceRegistry
    /// The service the nodes register as.
    public let service: String
    /// The election that names the leader.
    public let election: EtcdElection
    /// This node's id.
    public let nodeID: String

    /// The cluster of `service`'s instances in `registry`, led by `election`'s leader.
    public init(registry: EtcdServiceRegistry, service: String, election: EtcdElection, nodeID: String) {
        self.registry = registry
        self.service = service
        self.election = election
        self.nodeID = nodeID
    }

    /// The cluster now. `leadership` is this node's current leadership, if it has one: a
    /// node leads by its own lease, not by what etcd last said.
    public func info(leadership: Leadership? = nil) async throws -> ClusterInfo {
        async let instances = registry.discover(service)
        async let leader = election.leader()
        let nodes = try await instances.map { ClusterInfo.Node(id: $0.id, address: $0.address) }.sorted { $0.id < $1.id }
        return ClusterInfo(nodeID: nodeID, nodes: nodes, leader: try await leader?.value,
                           isLeader: leadership.map { $0.isLeader && $0.election.name == election.name } ?? false)
    }
}
