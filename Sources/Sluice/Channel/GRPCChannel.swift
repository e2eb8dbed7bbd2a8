import Logging
import Synchronization

/// A client transport over a gRPC target: a name resolver finds the endpoints, a subchannel
/// per endpoint connects to it, and a load-balancing policy sends each call to one of them.
///
///     let channel = try GRPCChannel(target: "dns:///orders.internal:50051", subchannels: factory, resolvers: resolvers)
///     let client = GRPCClient(transport: channel, serviceConfig: config)
///
/// The policy comes from the service config (the resolver's, else `defaultServiceConfig`):
/// `pick_first` unless it names another. Resolver updates add and remove subchannels; those
/// that stay keep their connections and their calls. A call with no READY subchannel waits
/// while one is connecting; when none can connect it fails with UNAVAILABLE, unless it waits
/// for ready, in which case it waits for its deadline.
public final class GRPCChannel: ClientTransport, ResolvedServiceConfigSource {
    private struct Entry {
        let endpoint: Endpoint
        let subchannel: any Subchannel
        var state: ConnectivityState
        /// The endpoint's circuit breaker, when the channel has one per endpoint.
        let breaker: CircuitBreaker?
        /// What the health watch (gRFC A17) says, while the service config asks for one.
        var health = HealthWatch.Health.unknown
        var healthWatch: Task<Void, Never>?

        /// The state the load balancer sees: an open circuit makes a READY endpoint unusable,
        /// and with health checking a READY one counts as CONNECTING until the server says
        /// SERVING, and as TRANSIENT_FAILURE while it says anything else.
        func effectiveState(now: ContinuousClock.Instant, checkingHealth: Bool) -> ConnectivityState {
            if let breaker, breaker.isRefusing(now: now) { return .transientFailure }
            guard checkingHealth, state == .ready else { return state }
            switch health {
            case .serving, .disabled: return .ready
            case .unknown: return .connecting
            case .notServing: return .transientFailure
            }
        }
    }

    private struct State {
        var entries: [Entry] = []
        var policy: any LoadBalancingPolicy = PickFirstPolicy()
        var policyName = "pick_first"
        var serviceConfig: ServiceConfig
        var resolverError: (any Error)?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        var aggregate = ConnectivityState.idle
        var watchers: [Int: AsyncStream<ConnectivityState>.Continuation] = [:]
        var closed = false
        /// Counts changes, so that a call that picked before a change and waits after it
        /// does not miss the wake-up.
        var version = 0
        /// The resolver's last valid config and its retry token bucket; nil until it publishes one.
        var resolved: (config: ServiceConfig, throttle: RetryThrottle?)?
        /// The resolver's last result, kept for leaving idleness.
        var lastResolution: ResolutionResult?
        /// The channel closed its subchannels after `idleTimeout` without calls; the next
        /// call makes them again from `lastResolution`.
        var isIdle = false
        /// Calls open now, and when the last one ended (counted only with an idle timeout).
        var activeCalls = 0
        var lastActivity = ContinuousClock.now
    }

    /// The target as given.
    public let target: ResolverTarget
    private let resolver: any NameResolver
    private let factory: any SubchannelFactory
    private let policies: LoadBalancingPolicyRegistry
    private let breakerConfiguration: CircuitBreakerConfiguration?
    private let state: Mutex<State>
    private let resolving = Mutex<Task<Void, Never>?>(nil)
    /// Set when the resolver first answers (or fails), or the channel closes.
    private let firstResolution = OneShot<Void>()
    /// How long the channel stays connected without calls; nil for ever.
    public let idleTimeout: Duration?
    /// Where the channel logs resolver updates, state changes, idleness and disabled health
    /// checks (keys in ``LogKeys``).
    let logger: Logger
    private let idleMonitor = Mutex<Task<Void, Never>?>(nil)

    /// A channel to `target`.
    ///
    /// - Parameters:
    ///   - target: A gRPC target (`dns:///host:port`, `ipv4:...`, `unix:...`, or a scheme of
    ///     `resolvers`).
    ///   - subchannels: Makes the transport's subchannel for each endpoint.
    ///   - resolvers: The resolvers by scheme.
    ///   - defaultServiceConfig: Used until, and unless, the resolver publishes one.
    ///   - policies: The load-balancing policies the service config may name.
    ///   - circuitBreaker: With a configuration, each endpoint gets a circuit breaker: an
    ///     endpoint whose circuit is open is not picked while others can take calls, and when
    ///     every endpoint's is open calls fail at once with UNAVAILABLE "circuit open".
    ///   - idleTimeout: After this long without a call, the channel closes its connections and
    ///     goes IDLE; the next call connects again (grpc-go's `WithIdleTimeout`). nil, the
    ///     default, keeps connections for the channel's life.
    ///   - logger: Where the channel logs its events: resolver updates, subchannel and channel
    ///     state changes and idleness at `debug`, a health check the server cannot answer at
    ///     `error`. Nothing is logged without one.
    /// - Throws: ``ResolverTargetError`` naming what is wrong with the target.
    public init(target: String, subchannels: any SubchannelFactory, resolvers: NameResolverRegistry,
                defaultServiceConfig: ServiceConfig = ServiceConfig(),
                policies: LoadBalancingPolicyRegistry = LoadBalancingPolicyRegistry(),
                circuitBreaker: CircuitBreakerConfiguration? = nil, idleTimeout: Duration? = nil,
                logger: Logger? = nil) throws {
        let (parsed, resolver) = try resolvers.makeResolver(for: target)
        self.idleTimeout = idleTimeout
        var logger = logger ?? .disabled
        logger[metadataKey: LogKeys.target] = "\(target)"
        self.logger = logger
        self.breakerConfiguration = circuitBreaker
        self.target = parsed
        self.resolver = resolver
        self.factory = subchannels
        self.policies = policies
        var initial = State(serviceConfig: defaultServiceConfig)
        let (name, policy) = policies.makePolicy(defaultServiceConfig.loadBalancingConfig)
        initial.policyName = name
        initial.policy = policy
        self.state = Mutex(initial)
        let task = Task { [weak self, resolver] in
            do {
                for try await result in resolver.updates {
                    guard let self else { return }
                    self.apply(result)
                }
            } catch {
                self?.resolverFailed(error)
            }
        }
        resolving.withLock { $0 = task }
        if let idleTimeout { idleMonitor.withLock { $0 = monitorIdleness(idleTimeout) } }
    }

    /// The service config in force: the resolver's last valid one, else the default.
    public var serviceConfig: ServiceConfig { state.withLock { $0.serviceConfig } }

    func resolvedServiceConfig(waitingUntil deadline: ContinuousClock.Instant?) async
        -> (config: ServiceConfig, throttle: RetryThrottle?)? {
        if firstResolution.peek() == nil {
            let wake = OneShot<Void>()
            firstResolution.whenSet { wake.set(()) }
            let timer = deadline.map { deadline in
                Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    wake.set(())
                }
            }
            await wake.value
            timer?.cancel()
        }
        return state.withLock { $0.resolved }
    }

    /// The name of the load-balancing policy in force.
    public var loadBalancingPolicy: String { state.withLock { $0.policyName } }

    /// The channel's state now.
    public var connectivityState: ConnectivityState { state.withLock { $0.aggregate } }

    /// Each subchannel's endpoint and state, in the resolver's order.
    public var subchannelStates: [(endpoint: Endpoint, state: ConnectivityState)] {
        state.withLock { $0.entries.map { ($0.endpoint, $0.state) } }
    }

    /// Each endpoint's circuit breaker counts, when the channel has breakers.
    public var circuitBreakerMetrics: [(endpoint: Endpoint, metrics: CircuitBreakerMetrics)] {
        state.withLock { state in state.entries.compactMap { entry in entry.breaker.map { (entry.endpoint, $0.metrics) } } }
    }

    /// The channel's state now, then every change, until the channel closes.
    public var connectivityStates: AsyncStream<ConnectivityState> {
        let (stream, continuation) = AsyncStream<ConnectivityState>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let id = state.withLock { state -> Int in
            let id = state.nextWaiter
            state.nextWaiter += 1
            continuation.yield(state.aggregate)
            if state.closed { continuation.finish() } else { state.watchers[id] = continuation }
            return id
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) } }
        return stream
    }

    // MARK: Calls

    public func openStream(_ head: RequestHead) async throws -> ClientStream {
        if idleTimeout != nil { leaveIdleness() }
        while true {
            let now = ContinuousClock.now
            var seenVersion = 0
            let pick = state.withLock { state -> (LoadBalancingPick, Entry?) in
                seenVersion = state.version
                if state.closed { return (.fail(RPCError(code: .unavailable, message: "the channel is closed")), nil) }
                if state.entries.isEmpty, let error = state.resolverError {
                    return (.fail(RPCError(code: .unavailable, message: "resolving \(target) failed: \(error)")), nil)
                }
                if state.entries.isEmpty && state.aggregate == .idle { return (.queue, nil) }
                // Every endpoint's circuit open: fail fast, waiting for ready or not.
                if !state.entries.isEmpty, state.entries.allSatisfy({ $0.breaker?.isRefusing(now: now) ?? false }) {
                    return (.fail(RPCError(code: .unavailable, message: "circuit open")), nil)
                }
                let decision = state.policy.pick(Self.effectiveStates(state, now: now))
                if case .use(let index) = decision { return (decision, state.entries[index]) }
                return (decision, nil)
            }
            if case .fail(let error) = pick.0, error.message == "circuit open" { throw error }
            switch pick {
            case (.use, let entry?):
                do {
                    let ticket = try entry.breaker?.admit()
                    let stream = try await entry.subchannel.openStream(head)
                    if let breaker = entry.breaker, let ticket { Self.record(stream, on: breaker, ticket) }
                    if idleTimeout != nil { track(stream) }
                    return stream
                } catch let error as RPCError where error.code == .unavailable {
                    // The subchannel failed between the pick and the open; its state change
                    // follows. A fail-fast call fails with it.
                    guard head.waitForReady else { throw error }
                    try await waitForChange(after: seenVersion, deadline: head.deadline, polling: true)
                }
            case (.fail(let error), _):
                guard head.waitForReady else { throw error }
                try await waitForChange(after: seenVersion, deadline: head.deadline, polling: false)
            default:
                try await waitForChange(after: seenVersion, deadline: head.deadline, polling: false)
            }
        }
    }

    /// Tells the endpoint's breaker how the call ended.
    private static func record(_ stream: ClientStream, on breaker: CircuitBreaker, _ ticket: CircuitBreaker.Ticket) {
        stream.end.whenSet { end in breaker.record(ticket, code: end.error?.code ?? .ok) }
    }

    /// Closes the channel: the resolver stops, calls waiting for a connection fail, and calls
    /// in flight on its connections fail with UNAVAILABLE (as grpc-go's `ClientConn.Close`).
    /// The state becomes SHUTDOWN.
    public func close() async {
        let (entries, waiters, watchers) = state.withLock { state in
            state.closed = true
            state.aggregate = .shutdown
            defer {
                state.waiters = [:]
                state.watchers = [:]
            }
            return (state.entries, Array(state.waiters.values), Array(state.watchers.values))
        }
        resolving.withLock { $0?.cancel() }
        idleMonitor.withLock { $0?.cancel() }
        firstResolution.set(())
        for entry in entries { entry.healthWatch?.cancel() }
        for waiter in waiters { waiter.resume() }
        for watcher in watchers {
            watcher.yield(.shutdown)
            watcher.finish()
        }
        // Closing a channel ends its calls in flight (a server stream nobody reads any more
        // would otherwise keep its connection, and the server's drain, waiting for ever).
        for entry in entries { await entry.subchannel.close() }
    }

    /// Waits until a subchannel's state or the endpoints change after `version` (at once if
    /// they already have), the deadline passes (then
    /// DEADLINE_EXCEEDED) or the task is cancelled (CANCELLED). `polling` also wakes after a
    /// moment, for a subchannel that failed without changing state.
    private func waitForChange(after version: Int, deadline: ContinuousClock.Instant?, polling: Bool) async throws {
        if let deadline, deadline <= .now {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded while waiting for a ready connection")
        }
        let id = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let wake = Task { [weak self] in
            // The deadline, the poll and cancellation all end the wait the same way.
            let until = polling ? min(deadline ?? .now + .milliseconds(50), .now + .milliseconds(50)) : deadline
            if let until { try? await Task.sleep(until: until, clock: .continuous) } else { await untilCancelled() }
            self?.wakeWaiter(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // Something changed since the pick: pick again at once.
                    if state.closed || Task.isCancelled || state.version != version { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wakeWaiter(id)
        }
        wake.cancel()
        if Task.isCancelled { throw RPCError(code: .cancelled, message: "the call was cancelled while waiting for a connection") }
        if let deadline, deadline <= .now {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded while waiting for a ready connection")
        }
    }

    private func wakeWaiter(_ id: Int) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume()
    }

    // MARK: Idleness

    /// Every `timeout`, or when the last call ended that long ago, closes the subchannels if
    /// no call is open.
    private func monitorIdleness(_ timeout: Duration) -> Task<Void, Never> {
        Task { [weak self] in
            var wake = ContinuousClock.now + timeout
            while true {
                guard (try? await Task.sleep(until: wake, clock: .continuous)) != nil, let channel = self else { return }
                wake = channel.enterIdlenessIfUnused(timeout)
            }
        }
    }

    /// Goes IDLE if no call is open and none ended within `timeout`; returns when to look again.
    private func enterIdlenessIfUnused(_ timeout: Duration) -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        let (next, closing, changes) = state.withLock { state -> (ContinuousClock.Instant, [Entry], Changes) in
            guard !state.closed, !state.isIdle, state.activeCalls == 0 else { return (now + timeout, [], Changes()) }
            guard now - state.lastActivity >= timeout else { return (state.lastActivity + timeout, [], Changes()) }
            state.isIdle = true
            let closing = state.entries
            state.entries = []
            return (now + timeout, closing, Self.changes(&state))
        }
        if !closing.isEmpty { logger.debug("idle: closing the connections of a channel without calls") }
        publish(changes)
        for entry in closing {
            entry.healthWatch?.cancel()
            Task { await entry.subchannel.shutdown() }
        }
        return next
    }

    /// A call is starting on an idle channel: make the subchannels again from the resolver's
    /// last result, and ask it for a fresh one.
    private func leaveIdleness() {
        let resolution = state.withLock { state -> ResolutionResult? in
            state.lastActivity = .now
            guard state.isIdle, !state.closed else { return nil }
            state.isIdle = false
            return state.lastResolution
        }
        guard let resolution else { return }
        apply(resolution)
        resolver.resolveNow()
    }

    /// Counts the call as open until it ends.
    private func track(_ stream: ClientStream) {
        state.withLock { $0.activeCalls += 1 }
        stream.end.whenSet { [weak self] _ in
            self?.state.withLock { state in
                state.activeCalls -= 1
                state.lastActivity = .now
            }
        }
    }

    /// Whether the channel closed its connections for want of calls.
    public var isIdle: Bool { state.withLock { $0.isIdle } }

    // MARK: Resolution and states

    private func apply(_ result: ResolutionResult) {
        var endpoints = result.endpoints
        let (removed, connect, changes) = state.withLock { state -> ([any Subchannel], [any Subchannel], Changes) in
            guard !state.closed else { return ([], [], Changes()) }
            state.resolverError = nil
            state.lastResolution = result
            // While idle, the result waits for the next call.
            if state.isIdle { return ([], [], Changes()) }
            // A resolver's invalid config keeps the previous one (as grpc-go does).
            if case .success(let config)? = result.serviceConfig, config != state.resolved?.config {
                state.serviceConfig = config
                // A new bucket only when the throttling settings change.
                let throttle = state.resolved?.config.retryThrottling == config.retryThrottling
                    ? state.resolved?.throttle : config.retryThrottling.map(RetryThrottle.init)
                state.resolved = (config, throttle)
                let (name, policy) = policies.makePolicy(config.loadBalancingConfig)
                state.policyName = name
                state.policy = policy
            }
            if case .pickFirst(shuffleAddressList: true)? = state.serviceConfig.loadBalancingConfig.first {
                endpoints.shuffle()
            }
            var kept: [Entry] = []
            var removed: [any Subchannel] = []
            var pool = state.entries
            for endpoint in endpoints {
                if let index = pool.firstIndex(where: { $0.endpoint.addresses == endpoint.addresses }) {
                    kept.append(pool.remove(at: index))
                } else if let subchannel = try? factory.makeSubchannel(for: endpoint) {
                    kept.append(Entry(endpoint: endpoint, subchannel: subchannel, state: subchannel.connectivityState,
                                      breaker: breakerConfiguration.map { configuration in
                                          CircuitBreaker(configuration) { [weak self] circuit in
                                              self?.breakerChanged(to: circuit, recoveryTimeout: configuration.recoveryTimeout)
                                          }
                                      }))
                    subchannel.observeState { [weak self] new in self?.subchannel(at: endpoint.addresses, changedTo: new) }
                }
            }
            for entry in pool { entry.healthWatch?.cancel() }
            removed = pool.map(\.subchannel)
            state.entries = kept
            for index in state.entries.indices { updateHealthWatch(&state, at: index) }
            return (removed, Self.toConnect(&state), Self.changes(&state))
        }
        firstResolution.set(())
        logger.debug("resolver update", metadata: [
            LogKeys.endpointCount: "\(result.endpoints.count)", LogKeys.policy: "\(loadBalancingPolicy)",
        ])
        publish(changes)
        for subchannel in connect { subchannel.connect() }
        for subchannel in removed { Task { await subchannel.shutdown() } }
    }

    private func resolverFailed(_ error: any Error) {
        let changes = state.withLock { state -> Changes in
            guard !state.closed else { return Changes() }
            state.resolverError = error
            return Self.changes(&state)
        }
        logger.debug("resolver failed", metadata: [LogKeys.error: "\(error)"])
        firstResolution.set(())
        publish(changes)
    }

    private func subchannel(at addresses: [EndpointAddress], changedTo new: ConnectivityState) {
        let (connect, changes, failed) = state.withLock { state -> ([any Subchannel], Changes, Bool) in
            guard !state.closed, let index = state.entries.firstIndex(where: { $0.endpoint.addresses == addresses }) else {
                return ([], Changes(), false)
            }
            state.entries[index].state = new
            updateHealthWatch(&state, at: index)
            return (Self.toConnect(&state), Self.changes(&state), new == .transientFailure || new == .idle)
        }
        logger.debug("subchannel state changed", metadata: [LogKeys.endpoint: "\(addresses)", LogKeys.state: "\(new)"])
        // A lost connection may mean the endpoints moved: ask the resolver to look again.
        if failed { resolver.resolveNow() }
        publish(changes)
        for subchannel in connect { subchannel.connect() }
    }

    /// What the load balancer sees of each subchannel.
    private static func effectiveStates(_ state: State, now: ContinuousClock.Instant = .now) -> [ConnectivityState] {
        let checking = state.serviceConfig.healthCheckConfig != nil
        return state.entries.map { $0.effectiveState(now: now, checkingHealth: checking) }
    }

    /// Starts or stops the health watch of the subchannel at `index` as its state requires.
    private func updateHealthWatch(_ state: inout State, at index: Int) {
        let entry = state.entries[index]
        guard let config = state.serviceConfig.healthCheckConfig, entry.state == .ready else {
            entry.healthWatch?.cancel()
            state.entries[index].healthWatch = nil
            state.entries[index].health = .unknown
            return
        }
        guard entry.healthWatch == nil else { return }
        let addresses = entry.endpoint.addresses
        let subchannel = entry.subchannel
        let logger = self.logger
        state.entries[index].healthWatch = Task { [weak self] in
            await HealthWatch.run(on: subchannel, service: config.serviceName, logger: logger) { [weak self] health in
                self?.subchannel(at: addresses, healthChangedTo: health)
            }
        }
    }

    private func subchannel(at addresses: [EndpointAddress], healthChangedTo health: HealthWatch.Health) {
        let changes = state.withLock { state -> Changes in
            guard !state.closed, let index = state.entries.firstIndex(where: { $0.endpoint.addresses == addresses }),
                  state.entries[index].health != health else { return Changes() }
            state.entries[index].health = health
            return Self.changes(&state)
        }
        publish(changes)
    }

    /// An endpoint's circuit opened or closed, which changes what the balancer sees of it:
    /// recompute the channel's state now and, for an open circuit, again when its recovery
    /// timeout lets a probe through (the breaker itself reads OPEN until a call is offered).
    private func breakerChanged(to circuit: CircuitState, recoveryTimeout: Duration) {
        let changes = state.withLock { state -> Changes in
            state.closed ? Changes() : Self.changes(&state)
        }
        publish(changes)
        guard circuit == .open else { return }
        Task { [weak self] in
            try await Task.sleep(for: recoveryTimeout)
            guard let self else { return }
            let changes = self.state.withLock { state -> Changes in
                state.closed ? Changes() : Self.changes(&state)
            }
            self.publish(changes)
        }
    }

    private static func toConnect(_ state: inout State) -> [any Subchannel] {
        let states = state.entries.map(\.state)
        return state.policy.subchannelsToConnect(states).filter { states[$0] == .idle }.map { state.entries[$0].subchannel }
    }

    private struct Changes {
        var waiters: [CheckedContinuation<Void, Never>] = []
        var watchers: [AsyncStream<ConnectivityState>.Continuation] = []
        var aggregate: ConnectivityState?
    }

    /// Takes the waiters to wake, and the new aggregate state if it changed.
    private static func changes(_ state: inout State) -> Changes {
        state.version += 1
        var changes = Changes(waiters: Array(state.waiters.values))
        state.waiters = [:]
        var aggregate = state.policy.aggregateState(effectiveStates(state))
        if state.entries.isEmpty { aggregate = state.resolverError == nil ? .idle : .transientFailure }
        if aggregate != state.aggregate {
            state.aggregate = aggregate
            changes.aggregate = aggregate
            changes.watchers = Array(state.watchers.values)
        }
        return changes
    }

    private func publish(_ changes: Changes) {
        for waiter in changes.waiters { waiter.resume() }
        if let aggregate = changes.aggregate {
            logger.debug("channel state changed", metadata: [LogKeys.state: "\(aggregate)"])
            for watcher in changes.watchers { watcher.yield(aggregate) }
        }
    }
}
