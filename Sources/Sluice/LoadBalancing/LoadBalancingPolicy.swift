/// What a load balancer decides for a call.
public enum LoadBalancingPick: Sendable, Equatable {
    /// Use the subchannel at this index of the states given.
    case use(Int)
    /// No subchannel is ready yet, but one is connecting: hold the call.
    case queue
    /// Nothing can take the call now (every subchannel failed, or there are none): fail it
    /// with this error, unless it waits for ready.
    case fail(RPCError)
}

/// A load-balancing policy, as a value: the channel tells it the subchannels' states (in the
/// resolver's order) and asks it which to connect and where each call goes.
///
/// Register new policies in a ``LoadBalancingPolicyRegistry`` under the name a service config
/// selects them by (`loadBalancingConfig`).
public protocol LoadBalancingPolicy: Sendable {
    /// The indexes of the subchannels that should be connecting or connected now; the channel
    /// asks IDLE ones among them to connect.
    func subchannelsToConnect(_ states: [ConnectivityState]) -> [Int]
    /// Where the next call goes.
    mutating func pick(_ states: [ConnectivityState]) -> LoadBalancingPick
    /// The channel's state as this policy sees the subchannels.
    func aggregateState(_ states: [ConnectivityState]) -> ConnectivityState
}

extension LoadBalancingPolicy {
    /// gRPC's aggregation rule for policies that use every subchannel: READY if any is,
    /// else CONNECTING if any is connecting or idle, else TRANSIENT_FAILURE.
    public func aggregateState(_ states: [ConnectivityState]) -> ConnectivityState {
        if states.contains(.ready) { return .ready }
        if states.contains(.connecting) { return .connecting }
        if states.isEmpty { return .transientFailure }
        if states.contains(.idle) { return .idle }
        return .transientFailure
    }
}

/// `round_robin`: connects to every endpoint and sends each call to the next READY one.
public struct RoundRobinPolicy: LoadBalancingPolicy {
    private var next = 0

    public init() {}

    public func subchannelsToConnect(_ states: [ConnectivityState]) -> [Int] {
        Array(states.indices)
    }

    public mutating func pick(_ states: [ConnectivityState]) -> LoadBalancingPick {
        guard !states.isEmpty else { return .fail(RPCError(code: .unavailable, message: "the resolver returned no endpoints")) }
        for offset in 0..<states.count {
            let index = (next + offset) % states.count
            if states[index] == .ready {
                next = index + 1
                return .use(index)
            }
        }
        if states.contains(where: { $0 == .connecting || $0 == .idle }) { return .queue }
        return .fail(RPCError(code: .unavailable, message: "no endpoint is reachable (all \(states.count) in TRANSIENT_FAILURE)"))
    }
}

/// `pick_first` (gRFC A62): connects to the endpoints one at a time, in order, and sends every
/// call to the first that is READY.
public struct PickFirstPolicy: LoadBalancingPolicy {
    public init() {}

    public func subchannelsToConnect(_ states: [ConnectivityState]) -> [Int] {
        // The first that is not failing; while all fail, every one keeps trying.
        if let index = states.firstIndex(where: { $0 == .ready || $0 == .connecting }) { return [index] }
        if let index = states.firstIndex(where: { $0 == .idle }) { return [index] }
        return Array(states.indices)
    }

    public mutating func pick(_ states: [ConnectivityState]) -> LoadBalancingPick {
        guard !states.isEmpty else { return .fail(RPCError(code: .unavailable, message: "the resolver returned no endpoints")) }
        if let index = states.firstIndex(of: .ready) { return .use(index) }
        if states.contains(where: { $0 == .connecting || $0 == .idle }) { return .queue }
        return .fail(RPCError(code: .unavailable, message: "no endpoint is reachable (all \(states.count) in TRANSIENT_FAILURE)"))
    }

    public func aggregateState(_ states: [ConnectivityState]) -> ConnectivityState {
        if states.contains(.ready) { return .ready }
        if states.contains(.connecting) { return .connecting }
        if states.contains(.idle) { return .idle }
        return .transientFailure
    }
}

/// Load-balancing policies by the names service configs use.
public struct LoadBalancingPolicyRegistry: Sendable {
    private var makers: [String: @Sendable (LoadBalancingConfig) -> any LoadBalancingPolicy] = [:]

    /// `pick_first` and `round_robin`.
    public init() {
        register("pick_first") { _ in PickFirstPolicy() }
        register("round_robin") { _ in RoundRobinPolicy() }
    }

    /// Adds a policy under `name`, made from its service-config entry.
    public mutating func register(_ name: String, _ make: @escaping @Sendable (LoadBalancingConfig) -> any LoadBalancingPolicy) {
        makers[name] = make
    }

    /// The names registered, for ``ServiceConfig/init(json:knownPolicies:)``.
    public var names: Set<String> { Set(makers.keys) }

    /// The first policy of `configs` that is registered; `pick_first` when there is none.
    func makePolicy(_ configs: [LoadBalancingConfig]) -> (name: String, policy: any LoadBalancingPolicy) {
        for config in configs {
            if let make = makers[config.name] { return (config.name, make(config)) }
        }
        return ("pick_first", PickFirstPolicy())
    }
}
