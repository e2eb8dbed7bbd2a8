import Logging

/// The metadata keys of the log events of the channel, the client's retries and the
/// transports: stable, so that log queries keep working.
public enum LogKeys {
    /// The channel's target, as given.
    public static let target = "sluice.target"
    /// An endpoint (its addresses).
    public static let endpoint = "sluice.endpoint"
    /// A connectivity state: IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN.
    public static let state = "sluice.state"
    /// How many endpoints a resolver update named.
    public static let endpointCount = "sluice.endpoint_count"
    /// The load-balancing policy in force.
    public static let policy = "sluice.lb_policy"
    /// The service a health check asks about.
    public static let healthService = "sluice.health_service"
    /// An error's description.
    public static let error = "sluice.error"
    /// The other side of a connection: `ipv4:10.0.0.7:50512`.
    public static let peer = "sluice.peer"
    /// A GOAWAY's error code: `NO_ERROR`, `ENHANCE_YOUR_CALM`, ...
    public static let goAwayCode = "sluice.goaway_code"
    /// A GOAWAY's debug data, as text: `server_shutdown`, `max_age`, `too_many_pings`, ...
    public static let goAwayDebug = "sluice.goaway_debug"
    /// The last stream a GOAWAY's sender will process.
    public static let lastStreamID = "sluice.last_stream_id"
    /// Keepalive ping strikes a client has against it (gRFC A8).
    public static let pingStrikes = "sluice.ping_strikes"
    /// How long until the next attempt, in milliseconds (a connect backoff, a retry's delay).
    public static let delayMilliseconds = "sluice.delay_ms"
    /// A call's method, `package.Service/Method`.
    public static let method = "sluice.method"
    /// An attempt's number: 1 for a call's first.
    public static let attempt = "sluice.attempt"
    /// A status code's name: `UNAVAILABLE`, ...
    public static let status = "sluice.status"
}

extension Duration {
    /// Whole milliseconds, for ``LogKeys/delayMilliseconds``.
    package var loggedMilliseconds: String {
        "\(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)"
    }
}

extension Logger {
    /// A logger that drops everything: the default wherever a `Logger` is optional, so that
    /// the library prints nothing unless asked.
    static let disabled = Logger(label: "sluice.disabled", factory: { _ in SwiftLogNoOpLogHandler() })
}
