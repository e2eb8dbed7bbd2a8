/// One address a subchannel can connect to: what resolvers produce.
public enum EndpointAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address (dotted quad) and port.
    case ipv4(host: String, port: Int)
    /// An IPv6 address (without brackets) and port.
    case ipv6(host: String, port: Int)
    /// A Unix domain socket path.
    case unixDomainSocket(path: String)
    /// A Linux abstract Unix socket name (without the leading NUL).
    case unixAbstract(name: String)

    /// In gRPC's target notation: `ipv4:10.0.0.1:443`, `ipv6:[::1]:443`, `unix:/tmp/s`,
    /// `unix-abstract:name`.
    public var description: String {
        switch self {
        case .ipv4(let host, let port): return "ipv4:\(host):\(port)"
        case .ipv6(let host, let port): return "ipv6:[\(host)]:\(port)"
        case .unixDomainSocket(let path): return "unix:\(path)"
        case .unixAbstract(let name): return "unix-abstract:\(name)"
        }
    }

    /// Whether `text` is a dotted-quad IPv4 address.
    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                && (Int(part) ?? 256) <= 255
        }
    }

    /// Whether `text` is an IPv6 address in any of its textual forms (`::1`, `fe80::1`,
    /// `::ffff:10.0.0.1`), without brackets or a zone.
    public static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        var groups = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var limit = 8
        // A trailing IPv4 part stands for two groups.
        if let last = groups.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            groups.removeLast()
            groups.append("0")
            limit = 7
        }
        let compressions = text.components(separatedBy: "::").count - 1
        guard compressions <= 1 else { return false }
        let filled = groups.filter { !$0.isEmpty }
        guard filled.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
        if compressions == 0 {
            return groups.count == limit && filled.count == limit
        }
        return filled.count < limit
    }
}

/// A server a channel can use, as resolvers report it: one or more addresses (a load
/// balancer treats them as one, trying them in order) and attributes that discovery systems
/// attach (zone, weight, version).
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// The endpoint's addresses, in the order to try them.
    public var addresses: [EndpointAddress]
    /// What the resolver knows about the endpoint.
    public var attributes: [String: String]

    public init(addresses: [EndpointAddress], attributes: [String: String] = [:]) {
        self.addresses = addresses
        self.attributes = attributes
    }

    /// An endpoint of one address.
    public init(_ address: EndpointAddress, attributes: [String: String] = [:]) {
        self.init(addresses: [address], attributes: attributes)
    }

    public var description: String {
        addresses.map(\.description).joined(separator: ",")
    }
}
