/// Where a server accepts calls, once it listens: what ``GRPCServer/listeningAddress`` and
/// ``ServerTransport/listeningAddress`` report. With port 0 this is how a test learns the port
/// the kernel chose.
public enum ListeningAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address and port.
    case ipv4(host: String, port: Int)
    /// An IPv6 address (without brackets) and port.
    case ipv6(host: String, port: Int)
    /// A Unix domain socket.
    case unixDomainSocket(path: String)
    /// The in-process transport, which has no address.
    case inProcess

    /// The port of a TCP address; nil for Unix domain sockets and in-process servers.
    public var port: Int? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, let port): return port
        case .unixDomainSocket, .inProcess: return nil
        }
    }

    /// The address as a gRPC target (gRPC's naming.md): `ipv4:127.0.0.1:50051`,
    /// `ipv6:[::1]:50051`, `unix:/tmp/s`, or `in-process`.
    public var description: String {
        switch self {
        case .ipv4(let host, let port): return "ipv4:\(host):\(port)"
        case .ipv6(let host, let port): return "ipv6:[\(host)]:\(port)"
        case .unixDomainSocket(let path): return "unix:\(path)"
        case .inProcess: return "in-process"
        }
    }
}
