import SluiceProto

/// A channel's service config (gRFC A2): how to balance, and per method the timeout,
/// wait-for-ready, size limits and a retry or hedging policy.
///
/// Build it in Swift, or parse the JSON form that gRPC implementations share:
///
///     let config = try ServiceConfig(json: """
///         {
///           "loadBalancingConfig": [{"round_robin": {}}],
///           "methodConfig": [{
///             "name": [{"service": "spooled.v1.QueueService"}],
///             "timeout": "2s",
///             "retryPolicy": {
///               "maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "1s",
///               "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
///             }
///           }],
///           "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
///         }
///         """)
public struct ServiceConfig: Sendable, Hashable {
    /// Load-balancing policies in order of preference; the channel uses the first it knows.
    /// Empty means `pick_first`.
    public var loadBalancingConfig: [LoadBalancingConfig]
    /// Per-method settings; ``methodConfig(for:)`` picks the most specific.
    public var methodConfig: [MethodConfig]
    /// Limits retries and hedges when many calls fail (gRFC A6).
    public var retryThrottling: RetryThrottling?
    /// Client-side health checking (gRFC A17).
    public var healthCheckConfig: HealthCheckConfig?

    public init(loadBalancingConfig: [LoadBalancingConfig] = [], methodConfig: [MethodConfig] = [],
                retryThrottling: RetryThrottling? = nil, healthCheckConfig: HealthCheckConfig? = nil) {
        self.loadBalancingConfig = loadBalancingConfig
        self.methodConfig = methodConfig
        self.retryThrottling = retryThrottling
        self.healthCheckConfig = healthCheckConfig
    }

    /// The method config that applies to `method`, as A2 orders them: one naming the service
    /// and method, else one naming the service alone, else one naming neither (the default).
    public func methodConfig(for method: MethodDescriptor) -> MethodConfig? {
        var serviceWide: MethodConfig?
        var fallback: MethodConfig?
        for config in methodConfig {
            for name in config.names {
                if name.service == method.service && name.method == method.method { return config }
                if name.service == method.service && name.method == nil && serviceWide == nil { serviceWide = config }
                if name.service.isEmpty && name.method == nil && fallback == nil { fallback = config }
            }
        }
        return serviceWide ?? fallback
    }
}

/// One load-balancing policy and its settings.
public enum LoadBalancingConfig: Sendable, Hashable {
    /// Connects to one address at a time, in order, and sends every call there (gRFC A62).
    /// `shuffleAddressList` shuffles the endpoints first, spreading clients over servers.
    case pickFirst(shuffleAddressList: Bool = false)
    /// Spreads calls over every READY endpoint in turn.
    case roundRobin
    /// A policy registered by the application, with its JSON settings.
    case custom(name: String, config: JSONValue)

    /// The policy's name as service configs spell it: `pick_first`, `round_robin`.
    public var name: String {
        switch self {
        case .pickFirst: return "pick_first"
        case .roundRobin: return "round_robin"
        case .custom(let name, _): return name
        }
    }
}

/// Settings for the methods it names.
public struct MethodConfig: Sendable, Hashable {
    /// A service, or a method of it; an empty service with no method names every method.
    public struct Name: Sendable, Hashable {
        public var service: String
        public var method: String?

        public init(service: String, method: String? = nil) {
            self.service = service
            self.method = method
        }
    }

    /// What to do when an attempt fails: retry it, or send hedged attempts (never both).
    public enum ExecutionPolicy: Sendable, Hashable {
        case retry(RetryPolicy)
        case hedging(HedgingPolicy)
    }

    public var names: [Name]
    /// Calls wait through CONNECTING and TRANSIENT_FAILURE for their deadline instead of
    /// failing fast with UNAVAILABLE; nil leaves the call's own choice.
    public var waitForReady: Bool?
    /// The longest a call may take, all attempts included; a shorter deadline of the call's own wins.
    public var timeout: Duration?
    public var maxRequestMessageBytes: Int?
    public var maxResponseMessageBytes: Int?
    public var executionPolicy: ExecutionPolicy?

    public init(names: [Name], waitForReady: Bool? = nil, timeout: Duration? = nil, maxRequestMessageBytes: Int? = nil,
                maxResponseMessageBytes: Int? = nil, executionPolicy: ExecutionPolicy? = nil) {
        self.names = names
        self.waitForReady = waitForReady
        self.timeout = timeout
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.executionPolicy = executionPolicy
    }
}

/// Retries of failed attempts with exponential backoff and full jitter (gRFC A6).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included: 2 to 5 (more is taken as 5, as A6 says).
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var backoffMultiplier: Double
    /// The statuses that are retried; any other ends the call.
    public var retryableStatusCodes: Set<StatusCode>

    public init(maxAttempts: Int, initialBackoff: Duration, maxBackoff: Duration, backoffMultiplier: Double,
                retryableStatusCodes: Set<StatusCode>) {
        self.maxAttempts = min(maxAttempts, 5)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.backoffMultiplier = backoffMultiplier
        self.retryableStatusCodes = retryableStatusCodes
    }
}

/// Parallel attempts sent `hedgingDelay` apart; the first to get response headers wins (gRFC A6).
public struct HedgingPolicy: Sendable, Hashable {
    /// Attempts in all: 2 to 5 (more is taken as 5).
    public var maxAttempts: Int
    public var hedgingDelay: Duration
    /// Statuses after which the other attempts go on; any other ends the call at once.
    public var nonFatalStatusCodes: Set<StatusCode>

    public init(maxAttempts: Int, hedgingDelay: Duration = .zero, nonFatalStatusCodes: Set<StatusCode> = []) {
        self.maxAttempts = min(maxAttempts, 5)
        self.hedgingDelay = hedgingDelay
        self.nonFatalStatusCodes = nonFatalStatusCodes
    }
}

/// The token bucket that stops retries and hedges while too many calls fail (gRFC A6): each
/// failure takes a token, each success returns `tokenRatio`; at or below half of `maxTokens`,
/// no retry or hedge goes out.
public struct RetryThrottling: Sendable, Hashable {
    /// 1 to 1000 (more is taken as 1000).
    public var maxTokens: Double
    /// Above 0; used to three decimal places.
    public var tokenRatio: Double

    public init(maxTokens: Double, tokenRatio: Double) {
        self.maxTokens = min(maxTokens, 1000)
        self.tokenRatio = (tokenRatio * 1000).rounded(.down) / 1000
    }
}

/// Client-side health checking (gRFC A17).
public struct HealthCheckConfig: Sendable, Hashable {
    /// The service to watch with `grpc.health.v1.Health/Watch`; empty for the whole server.
    public var serviceName: String

    public init(serviceName: String) {
        self.serviceName = serviceName
    }
}

/// A service config that cannot be used: where it is wrong (a JSON path such as
/// `$.methodConfig[0].retryPolicy.maxAttempts`) and why.
public struct ServiceConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The JSON path of the offending field, `$` for the whole document.
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "invalid service config at \(path): \(problem)" }
}
