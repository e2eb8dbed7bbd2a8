import Synchronization

/// Service discovery in memory (seed 001's `memory` provider, the default): services and
/// their instances, changed at run time, resolved by channels with `memory:///<service>`
/// targets.
///
///     let registry = InMemoryServiceRegistry()
///     let registration = try await registry.register(
///         ServiceInstance(service: "orders", id: "a", address: "127.0.0.1:5001"))
///     var resolvers = NameResolverRegistry()
///     resolvers.register(registry)          // the channel's target: "memory:///orders"
///     try await registration.deregister()   // every channel on it sees the change
///
/// Beside registrations, ``set(_:serviceConfig:for:)`` fixes a service's endpoints (and a
/// service config) directly; a `memory:///` resolution holds those endpoints and then each
/// registered instance's.
public final class InMemoryServiceRegistry: NameResolverFactory, ServiceRegistry {
    private struct Service {
        /// From ``set(_:serviceConfig:for:)``.
        var fixed: ResolutionResult?
        var instances: [String: ServiceInstance] = [:]
        var resolutionWatchers: [Int: AsyncThrowingStream<ResolutionResult, any Error>.Continuation] = [:]
        var instanceWatchers: [Int: AsyncThrowingStream<[ServiceInstance], any Error>.Continuation] = [:]

        var resolution: ResolutionResult? {
            guard fixed != nil || !instances.isEmpty else { return nil }
            let registered = instances.values.sorted { $0.id < $1.id }.compactMap { try? $0.endpoint() }
            return ResolutionResult(endpoints: (fixed?.endpoints ?? []) + registered, serviceConfig: fixed?.serviceConfig)
        }

        var instanceList: [ServiceInstance] { instances.values.sorted { $0.id < $1.id } }
    }

    private struct State {
        var services: [String: Service] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// The scheme of this registry's targets; `memory` by default.
    public let scheme: String

    public init(scheme: String = "memory") {
        self.scheme = scheme
    }

    /// Sets the endpoints (and optionally a service config) of `service`, telling every
    /// resolver of it.
    public func set(_ endpoints: [Endpoint], serviceConfig: Result<ServiceConfig, ServiceConfigError>? = nil, for service: String) {
        change(service) { $0.fixed = ResolutionResult(endpoints: endpoints, serviceConfig: serviceConfig) }
    }

    /// The endpoints of `service` now: those set, then the registered instances'.
    public func endpoints(of service: String) -> [Endpoint] {
        state.withLock { $0.services[service]?.resolution?.endpoints ?? [] }
    }

    public func makeResolver(for target: ResolverTarget) throws -> any NameResolver {
        InMemoryNameResolver(registry: self, service: target.endpoint)
    }

    public func register(_ instance: ServiceInstance) async throws -> any ServiceRegistration {
        // A bad address is the registrant's mistake: refuse it here rather than leave it
        // out of every resolution without a word.
        _ = try instance.endpoint()
        change(instance.service) { $0.instances[instance.id] = instance }
        return InMemoryRegistration(registry: self, instance: instance)
    }

    public func discover(_ service: String) async throws -> [ServiceInstance] {
        state.withLock { $0.services[service]?.instanceList ?? [] }
    }

    public func watch(_ service: String) -> any AsyncSequence<[ServiceInstance], any Error> & Sendable {
        let (stream, continuation) = AsyncThrowingStream<[ServiceInstance], any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextID
            state.nextID += 1
            state.services[service, default: Service()].instanceWatchers[id] = continuation
            continuation.yield(state.services[service]?.instanceList ?? [])
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.services[service]?.instanceWatchers.removeValue(forKey: id) }
        }
        return stream
    }

    fileprivate func remove(_ instance: ServiceInstance) {
        change(instance.service) { service in
            // Only the registration that put it there removes it: a later one of the same id
            // replaced it and stays.
            if service.instances[instance.id] == instance { service.instances[instance.id] = nil }
        }
    }

    /// Applies `update` to `service` and tells its watchers the result.
    private func change(_ name: String, _ update: (inout Service) -> Void) {
        let (resolution, resolutionWatchers, instances, instanceWatchers) = state.withLock { state in
            update(&state.services[name, default: Service()])
            let service = state.services[name]!  // set just above
            return (service.resolution, Array(service.resolutionWatchers.values), service.instanceList, Array(service.instanceWatchers.values))
        }
        if let resolution {
            for watcher in resolutionWatchers { watcher.yield(resolution) }
        }
        for watcher in instanceWatchers { watcher.yield(instances) }
    }

    /// A stream of the resolutions of `service`: the current one at once (if any), then each change.
    func watchResolution(_ service: String) -> AsyncThrowingStream<ResolutionResult, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ResolutionResult, any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextID
            state.nextID += 1
            state.services[service, default: Service()].resolutionWatchers[id] = continuation
            if let current = state.services[service]?.resolution { continuation.yield(current) }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.services[service]?.resolutionWatchers.removeValue(forKey: id) }
        }
        return stream
    }
}

/// An instance's registration in an ``InMemoryServiceRegistry``.
struct InMemoryRegistration: ServiceRegistration {
    let registry: InMemoryServiceRegistry
    let instance: ServiceInstance

    func deregister() async throws {
        registry.remove(instance)
    }
}

/// A resolver of one service of an ``InMemoryServiceRegistry``.
struct InMemoryNameResolver: NameResolver {
    let registry: InMemoryServiceRegistry
    let service: String

    var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable {
        registry.watchResolution(service)
    }

    func resolveNow() {}
}
