/// A channel's status at one moment: its target, state and policy, and each endpoint with its
/// subchannel's state and circuit breaker. `Codable`, so `JSONEncoder` prints it.
public struct ChannelStatusSnapshot: Sendable, Hashable, Codable {
    /// One endpoint the resolver gave.
    public struct Subchannel: Sendable, Hashable, Codable {
        /// The endpoint's addresses, `ipv4:10.0.0.7:50051`.
        public var endpoint: String
        /// `IDLE`, `CONNECTING`, `READY`, `TRANSIENT_FAILURE` or `SHUTDOWN`.
        public var state: String
        /// The circuit breaker's state and counts, when the channel has breakers.
        public var circuitBreaker: CircuitBreakerCounts?

        public init(endpoint: String, state: String, circuitBreaker: CircuitBreakerCounts? = nil) {
            self.endpoint = endpoint
            self.state = state
            self.circuitBreaker = circuitBreaker
        }
    }

    /// A circuit breaker's counts, without its clock instant (which means nothing outside the
    /// process).
    public struct CircuitBreakerCounts: Sendable, Hashable, Codable {
        /// `CLOSED`, `OPEN` or `HALF_OPEN`.
        public var state: String
        /// Calls offered, admitted or not.
        public var total: Int
        /// Calls that succeeded.
        public var successful: Int
        /// Calls that failed with a status the breaker counts.
        public var failed: Int
        /// Calls refused while the circuit was open.
        public var rejected: Int

        public init(state: String, total: Int, successful: Int, failed: Int, rejected: Int) {
            self.state = state
            self.total = total
            self.successful = successful
            self.failed = failed
            self.rejected = rejected
        }
    }

    /// The target as given, `dns:///orders.internal:50051`.
    public var target: String
    /// The channel's aggregate state.
    public var state: String
    /// The load-balancing policy in force.
    public var loadBalancingPolicy: String
    /// The endpoints, in the resolver's order.
    public var subchannels: [Subchannel]

    /// A snapshot as a channel reports it (or a test makes one up).
    public init(target: String, state: String, loadBalancingPolicy: String, subchannels: [Subchannel]) {
        self.target = target
        self.state = state
        self.loadBalancingPolicy = loadBalancingPolicy
        self.subchannels = subchannels
    }
}

extension GRPCChannel {
    /// The channel's status now.
    public func statusSnapshot() -> ChannelStatusSnapshot {
        let breakers = Dictionary(circuitBreakerMetrics.map { ($0.endpoint, $0.metrics) }, uniquingKeysWith: { first, _ in first })
        let subchannels = subchannelStates.map { endpoint, state in
            ChannelStatusSnapshot.Subchannel(
                endpoint: endpoint.description, state: state.rawValue,
                circuitBreaker: breakers[endpoint].map {
                    ChannelStatusSnapshot.CircuitBreakerCounts(
                        state: $0.state.rawValue, total: $0.total, successful: $0.successful, failed: $0.failed,
                        rejected: $0.rejected)
                })
        }
        return ChannelStatusSnapshot(target: target.description, state: connectivityState.rawValue,
                                     loadBalancingPolicy: loadBalancingPolicy, subchannels: subchannels)
    }
}
