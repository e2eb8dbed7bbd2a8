import Logging

/// The metadata keys of the channel's log events: stable, so that log queries keep working.
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
}

extension Logger {
    /// A logger that drops everything: the default wherever a `Logger` is optional, so that
    /// the library prints nothing unless asked.
    static let disabled = Logger(label: "sluice.disabled", factory: { _ in SwiftLogNoOpLogHandler() })
}
