/// A channel's target as gRPC names it (gRPC's naming.md): `scheme:[//authority/]endpoint`.
///
/// | target | scheme | endpoint |
/// | --- | --- | --- |
/// | `dns:///api.example.com:443`, `api.example.com:443` | `dns` | `api.example.com:443` |
/// | `ipv4:10.0.0.1:50051,10.0.0.2:50051` | `ipv4` | `10.0.0.1:50051,10.0.0.2:50051` |
/// | `ipv6:[::1]:50051` | `ipv6` | `[::1]:50051` |
/// | `unix:relative/path`, `unix:///absolute/path` | `unix` | the path |
/// | `unix-abstract:name` | `unix-abstract` | `name` |
/// | `etcd:///orders`, `memory:///orders` | the scheme | `orders` |
///
/// A string whose scheme is not one of `knownSchemes` is taken whole as a DNS name with a
/// port, as grpc-go and grpc-java do: `localhost:50051` means `dns:///localhost:50051`.
public struct ResolverTarget: Sendable, Hashable, CustomStringConvertible {
    /// The resolver's scheme, lower-cased: `dns`, `ipv4`, `ipv6`, `unix`, `unix-abstract`, or a
    /// registered one.
    public var scheme: String
    /// What comes between `//` and the next `/`; empty when absent. For `dns`, a DNS server.
    public var authority: String
    /// What the resolver resolves: `host:port`, addresses, a path or a service name.
    public var endpoint: String

    /// A target from its parts.
    public init(scheme: String, authority: String = "", endpoint: String) {
        self.scheme = scheme
        self.authority = authority
        self.endpoint = endpoint
    }

    /// Parses `text`; a scheme outside `knownSchemes` makes the whole text a `dns` endpoint.
    ///
    /// - Throws: ``ResolverTargetError`` naming the part that is wrong.
    public init(parsing text: String, knownSchemes: Set<String> = ResolverTarget.builtInSchemes) throws {
        guard !text.isEmpty else { throw ResolverTargetError(target: text, problem: "the target is empty") }
        guard let colon = text.firstIndex(of: ":"), case let scheme = text[..<colon].lowercased(),
              knownSchemes.contains(scheme) else {
            self.init(scheme: "dns", endpoint: text)
            try validate(original: text)
            return
        }
        var rest = text[text.index(after: colon)...]
        var authority = ""
        let hasAuthority = rest.hasPrefix("//")
        if hasAuthority {
            rest = rest.dropFirst(2)
            if let slash = rest.firstIndex(of: "/") {
                authority = String(rest[..<slash])
                rest = rest[rest.index(after: slash)...]
            } else {
                throw ResolverTargetError(target: text, problem: "'//' must be followed by an authority and '/' (as in \(scheme):///\(rest))")
            }
        }
        var endpoint = String(rest)
        // unix:///absolute/path keeps its leading slash: the path is absolute.
        if scheme == "unix" && hasAuthority { endpoint = "/" + endpoint }
        self.init(scheme: scheme, authority: authority, endpoint: endpoint)
        try validate(original: text)
    }

    /// The schemes every channel understands.
    public static let builtInSchemes: Set<String> = ["dns", "ipv4", "ipv6", "unix", "unix-abstract"]

    public var description: String {
        switch scheme {
        case "ipv4", "ipv6", "unix-abstract": return "\(scheme):\(endpoint)"
        case "unix": return endpoint.hasPrefix("/") ? "unix://\(endpoint)" : "unix:\(endpoint)"
        default: return "\(scheme)://\(authority)/\(endpoint)"
        }
    }

    /// The addresses of an `ipv4`, `ipv6`, `unix` or `unix-abstract` target, which need no
    /// lookup; nil for other schemes.
    ///
    /// - Throws: ``ResolverTargetError`` naming the address that is wrong.
    public func literalAddresses() throws -> [EndpointAddress]? {
        switch scheme {
        case "ipv4":
            return try endpoint.split(separator: ",", omittingEmptySubsequences: false).map { part in
                let (host, port) = try hostAndPort(String(part), defaultPort: 443)
                guard EndpointAddress.isIPv4(host) else {
                    throw ResolverTargetError(target: description, problem: "'\(host)' is not an IPv4 address")
                }
                return .ipv4(host: host, port: port)
            }
        case "ipv6":
            return try endpoint.split(separator: ",", omittingEmptySubsequences: false).map { part in
                let (host, port) = try hostAndPort(String(part), defaultPort: 443)
                guard EndpointAddress.isIPv6(host) else {
                    throw ResolverTargetError(target: description, problem: "'\(host)' is not an IPv6 address")
                }
                return .ipv6(host: host, port: port)
            }
        case "unix":
            return [.unixDomainSocket(path: endpoint)]
        case "unix-abstract":
            return [.unixAbstract(name: endpoint)]
        default:
            return nil
        }
    }

    /// Splits `host:port`, `[v6]:port`, a bare host or a bare IPv6 address.
    ///
    /// - Throws: ``ResolverTargetError`` for a missing host, an unclosed bracket or a bad port.
    public func hostAndPort(_ text: String, defaultPort: Int) throws -> (host: String, port: Int) {
        var host = text
        var portText: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ResolverTargetError(target: description, problem: "'\(text)' opens '[' without closing it")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw ResolverTargetError(target: description, problem: "'\(text)' has '\(after)' after ']' where ':port' belongs")
                }
                portText = String(after.dropFirst())
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        // More than one colon without brackets: a bare IPv6 address, default port.
        guard !host.isEmpty else { throw ResolverTargetError(target: description, problem: "'\(text)' has no host") }
        guard let portText else { return (host, defaultPort) }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ResolverTargetError(target: description, problem: "port '\(portText)' of '\(text)' is not a number from 0 to 65535")
        }
        return (host, port)
    }

    /// Checks the parts, reporting errors against the target as the user wrote it.
    private func validate(original: String) throws {
        do {
            try validateParts(original: original)
        } catch var error as ResolverTargetError {
            error.target = original
            throw error
        }
    }

    private func validateParts(original: String) throws {
        switch scheme {
        case "dns":
            if !authority.isEmpty {
                throw ResolverTargetError(target: original,
                                          problem: "an explicit DNS server (authority '\(authority)') is not supported; use dns:///\(endpoint)")
            }
            _ = try hostAndPort(endpoint, defaultPort: 443)
        case "ipv4", "ipv6":
            guard authority.isEmpty else {
                throw ResolverTargetError(target: original, problem: "\(scheme) targets take no authority ('\(authority)')")
            }
            _ = try literalAddresses()
        case "unix", "unix-abstract":
            guard !endpoint.isEmpty else { throw ResolverTargetError(target: original, problem: "the socket path is empty") }
            guard authority.isEmpty else {
                throw ResolverTargetError(target: original, problem: "unix targets take no authority ('\(authority)'): write unix:///absolute/path")
            }
        default:
            guard !endpoint.isEmpty else {
                throw ResolverTargetError(target: original, problem: "the \(scheme) target names nothing after the scheme")
            }
        }
    }
}

/// A target that cannot be used, with the part that is wrong.
public struct ResolverTargetError: Error, Hashable, CustomStringConvertible {
    /// The target as given.
    public var target: String
    /// What is wrong with it.
    public var problem: String

    public init(target: String, problem: String) {
        self.target = target
        self.problem = problem
    }

    public var description: String { "invalid target '\(target)': \(problem)" }
}
