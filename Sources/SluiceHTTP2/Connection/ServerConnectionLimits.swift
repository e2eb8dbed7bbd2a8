#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long a server's connections may take to start, sit idle and live, and how many it
/// keeps (grpc-go's `keepalive.ServerParameters` and gRFC A9).
public struct ServerConnectionLimits: Sendable, Hashable {
    /// Connections served at once; one more is accepted and closed at once, so descriptors
    /// never run out under a flood of connections. nil derives it from the process's
    /// descriptor limit (`RLIMIT_NOFILE`), leaving an eighth of it (at least 64) to the rest
    /// of the process: files, clients it opens, the concurrency runtime's own descriptors.
    public var maxConnections: Int?
    /// Time from accepting a connection to the client's HTTP/2 preface and SETTINGS (after
    /// TLS, when there is TLS); a connection that has not sent them by then is closed.
    /// grpc-go allows 120 s; 10 s is ample for any live client, even over TLS on a slow
    /// network, and bounds what a client that connects and says nothing (slowloris) can pin.
    public var handshakeTimeout: Duration? = .seconds(10)
    /// A connection without calls for this long is sent GOAWAY and closed. nil (the default,
    /// as grpc-go) keeps idle connections.
    public var maxConnectionIdle: Duration?
    /// A connection older than this (give or take 10%, so connections made together do not
    /// all go at once) is sent GOAWAY; calls in flight may finish. nil (the default) keeps
    /// connections for ever.
    public var maxConnectionAge: Duration?
    /// How long calls in flight may run after the age GOAWAY before the connection is closed
    /// under them. nil waits for them however long they take.
    public var maxConnectionAgeGrace: Duration?

    public init() {}

    /// ``maxConnections``, or the default derived from the descriptor limit.
    public var effectiveMaxConnections: Int {
        if let maxConnections { return max(1, maxConnections) }
        return Self.defaultMaxConnections(descriptorLimit: Self.descriptorLimit())
    }

    /// Connections a process with `descriptorLimit` descriptors serves by default.
    static func defaultMaxConnections(descriptorLimit: Int) -> Int {
        let headroom = max(64, descriptorLimit / 8)
        return max(16, descriptorLimit - headroom)
    }

    /// The soft `RLIMIT_NOFILE`, or 1,024 where it cannot be read.
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        // RLIM_INFINITY is the largest rlim_t: cap what is plausible as a count.
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }
}
