import Logging
import NIOSSL
import Sluice

/// How to reach an etcd cluster.
public struct EtcdConfiguration: Sendable {
    /// The members' client addresses, `host:port`: IP addresses when there are several (the
    /// channel balances over them with pick_first and fails over in order), or one DNS name.
    public var endpoints: [String]
    /// etcd's user name and password, when the cluster has auth enabled: the client trades
    /// them for a token (etcd's Authenticate) and sends it with each call.
    public var username: String?
    public var password: String?
    /// TLS to the members; nil for plaintext.
    public var tls: TLSConfiguration?
    /// Deadline of each unary request (not of watches, keep-alives or campaigns, which last).
    public var requestTimeout: Duration = .seconds(5)
    /// How long to try to connect before a call fails.
    public var connectTimeout: Duration = .seconds(5)
    /// Reconnect backoff of watches and keep-alive streams: from this...
    public var minimumRetryDelay: Duration = .milliseconds(100)
    /// ...growing to this.
    public var maximumRetryDelay: Duration = .seconds(2)
    /// Where the client logs reconnects and what it skips; nil logs nothing.
    public var logger: Logger?

    /// A cluster at `endpoints` (`host:port` each).
    public init(endpoints: [String]) {
        self.endpoints = endpoints
    }

    /// A cluster named as `spooled-server --registry` takes it: `etcd://HOST:PORT[,HOST:PORT...]`.
    ///
    /// - Throws: ``EtcdError/configuration(_:)`` naming what is wrong.
    public init(url: String) throws {
        guard url.hasPrefix("etcd://") else {
            throw EtcdError.configuration("an etcd registry URL starts with etcd:// (as in etcd://127.0.0.1:2379), not '\(url)'")
        }
        let list = url.dropFirst("etcd://".count).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !list.isEmpty, list.allSatisfy({ !$0.isEmpty }) else {
            throw EtcdError.configuration("'\(url)' names no endpoint, or an empty one")
        }
        self.init(endpoints: list)
    }

    /// The channel target of ``endpoints``: `ipv4:a:p,b:p`, `ipv6:...`, or `dns:///host:port`.
    func target() throws -> String {
        guard !endpoints.isEmpty else { throw EtcdError.configuration("no etcd endpoint is configured") }
        let parser = ResolverTarget(scheme: "ipv4", endpoint: endpoints.joined(separator: ","))
        var hosts: [(host: String, port: Int)] = []
        for endpoint in endpoints {
            do {
                hosts.append(try parser.hostAndPort(endpoint, defaultPort: 2379))
            } catch {
                throw EtcdError.configuration("etcd endpoint '\(endpoint)': \(error)")
            }
        }
        if hosts.allSatisfy({ EndpointAddress.isIPv4($0.host) }) {
            return "ipv4:" + hosts.map { "\($0.host):\($0.port)" }.joined(separator: ",")
        }
        if hosts.allSatisfy({ EndpointAddress.isIPv6($0.host) }) {
            return "ipv6:" + hosts.map { "[\($0.host)]:\($0.port)" }.joined(separator: ",")
        }
        if hosts.count == 1 {
            return "dns:///\(hosts[0].host):\(hosts[0].port)"
        }
        throw EtcdError.configuration("several etcd endpoints must all be IPv4 or all IPv6 addresses; \(endpoints) mixes them or has names")
    }
}
