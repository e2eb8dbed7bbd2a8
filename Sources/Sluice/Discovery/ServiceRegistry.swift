/// Service discovery: instances register under their service's name, clients discover and
/// watch them (seed 001's registry: `memory` for development, etcd for production).
///
/// ``InMemoryServiceRegistry`` is the in-process implementation; SluiceEtcd's
/// `EtcdServiceRegistry` keeps instances in etcd, each bound to a lease so that a crashed
/// process disappears when its lease runs out. A channel resolves a registry's services
/// through ``ServiceRegistryResolverFactory`` (`etcd:///orders`), and a server registers
/// itself for as long as it serves with ``GRPCServer/serve(registeringIn:as:deregistrationDelay:)``.
public protocol ServiceRegistry: Sendable {
    /// Adds `instance` (replacing one of the same service and id) until the registration is
    /// deregistered or, for a registry with leases, the process stops keeping it alive.
    func register(_ instance: ServiceInstance) async throws -> any ServiceRegistration

    /// The instances of `service` registered now.
    func discover(_ service: String) async throws -> [ServiceInstance]

    /// The instances of `service`: the current set first, then the whole set again after
    /// every registration, deregistration and expiry. The sequence ends only when the reader
    /// stops reading or the registry is closed; a registry that loses its backend keeps
    /// quiet (the last set yielded stays true for the reader) and resumes when it returns.
    func watch(_ service: String) -> any AsyncSequence<[ServiceInstance], any Error> & Sendable
}

/// An instance's place in a ``ServiceRegistry``, from ``ServiceRegistry/register(_:)``.
public protocol ServiceRegistration: Sendable {
    /// What was registered.
    var instance: ServiceInstance { get }
    /// Removes the instance; watchers see it go. Calling it again does nothing.
    func deregister() async throws
}

/// A registry's services as a channel's resolver: `<scheme>:///<service>` resolves to the
/// service's instances and follows them as they come and go.
///
///     var resolvers = NameResolverRegistry.http2
///     resolvers.register(ServiceRegistryResolverFactory(scheme: "etcd", registry: etcdRegistry))
///     let channel = try GRPCChannel(http2: "etcd:///orders", resolvers: resolvers)
///
/// An instance whose address is not an IP address and port (or a `unix:` path) is left out.
public struct ServiceRegistryResolverFactory: NameResolverFactory {
    /// The target scheme resolved (`etcd` in `etcd:///orders`).
    public let scheme: String
    /// The registry resolved.
    public let registry: any ServiceRegistry

    /// Resolves `<scheme>:///<service>` targets in `registry`.
    public init(scheme: String, registry: any ServiceRegistry) {
        self.scheme = scheme
        self.registry = registry
    }

    /// A resolver of the one service `target` names.
    /// - Throws: ``ResolverTargetError`` when the target names no service, or a path.
    public func makeResolver(for target: ResolverTarget) throws -> any NameResolver {
        guard !target.endpoint.isEmpty, !target.endpoint.contains("/") else {
            throw ResolverTargetError(target: target.description, problem: "a \(scheme) target names one service, as in \(scheme):///orders")
        }
        return ServiceRegistryResolver(registry: registry, service: target.endpoint)
    }
}

/// A resolver of one service of a ``ServiceRegistry``.
struct ServiceRegistryResolver: NameResolver {
    let registry: any ServiceRegistry
    let service: String

    var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable {
        let instances = registry.watch(service)
        return AsyncThrowingStream<ResolutionResult, any Error> { continuation in
            let reader = Task {
                do {
                    for try await set in instances {
                        let endpoints = set.sorted { $0.id < $1.id }.compactMap { try? $0.endpoint() }
                        continuation.yield(ResolutionResult(endpoints: endpoints))
                    }
                    // The registry closed: the channel reads an error and makes a new resolver.
                    continuation.finish(throwing: RPCError(code: .unavailable, message: "the registry of \(service) closed"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }

    func resolveNow() {}
}
