import Sluice

/// What goes wrong talking to etcd, beside the ``Sluice/RPCError`` of a failed call.
public enum EtcdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration is unusable; the text says what and where.
    case configuration(String)
    /// etcd answered, but not as its API promises (a keep-alive for another lease, say).
    case protocolViolation(String)
    /// The lease is gone: expired, revoked, or not renewed in time.
    case leaseLost(id: Int64)
    /// A watch's start revision was compacted away: list again, then watch from there.
    case compacted(oldestRevision: Int64)

    public var description: String {
        switch self {
        case .configuration(let text): return "etcd configuration: \(text)"
        case .protocolViolation(let text): return "etcd answered unexpectedly: \(text)"
        case .leaseLost(let id): return "etcd lease \(String(id, radix: 16)) was lost"
        case .compacted(let oldest): return "the watch's start revision was compacted; the oldest revision kept is \(oldest)"
        }
    }
}
