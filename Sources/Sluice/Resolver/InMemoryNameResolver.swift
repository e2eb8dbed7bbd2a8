import Synchronization

/// Service discovery in memory (seed 001's `memory` provider): services and their endpoints,
/// changed at run time, resolved by channels with `memory:///<service>` targets.
///
///     let registry = InMemoryServiceRegistry()
///     registry.set([Endpoint(.ipv4(host: "127.0.0.1", port: 5001))], for: "orders")
///     var resolvers = NameResolverRegistry()
///     resolvers.register(registry)          // the channel's target: "memory:///orders"
///     registry.set([...], for: "orders")    // every channel on it sees the change
public final class InMemoryServiceRegistry: NameResolverFactory {
    private struct State {
        var results: [String: ResolutionResult] = [:]
        var watchers: [String: [Int: AsyncThrowingStream<ResolutionResult, any Error>.Continuation]] = [:]
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
        let result = ResolutionResult(endpoints: endpoints, serviceConfig: serviceConfig)
        let watchers = state.withLock { state in
            state.results[service] = result
            return Array((state.watchers[service] ?? [:]).values)
        }
        for watcher in watchers { watcher.yield(result) }
    }

    /// The endpoints of `service` now.
    public func endpoints(of service: String) -> [Endpoint] {
        state.withLock { $0.results[service]?.endpoints ?? [] }
    }

    public func makeResolver(for target: ResolverTarget) throws -> any NameResolver {
        InMemoryNameResolver(registry: self, service: target.endpoint)
    }

    /// A stream of the results of `service`: the current one at once (if any), then each change.
    func watch(_ service: String) -> AsyncThrowingStream<ResolutionResult, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ResolutionResult, any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextID
            state.nextID += 1
            state.watchers[service, default: [:]][id] = continuation
            if let current = state.results[service] { continuation.yield(current) }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers[service]?.removeValue(forKey: id) }
        }
        return stream
    }
}

/// A resolver of one service of an ``InMemoryServiceRegistry``.
struct InMemoryNameResolver: NameResolver {
    let registry: InMemoryServiceRegistry
    let service: String

    var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable {
        registry.watch(service)
    }

    func resolveNow() {}
}
