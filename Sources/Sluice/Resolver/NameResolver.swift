/// What a resolver knows about a target at one moment: its endpoints, and the service config
/// it publishes, if any.
public struct ResolutionResult: Sendable, Hashable {
    /// The endpoints to balance over; empty means none is known now.
    public var endpoints: [Endpoint]
    /// The service config the resolver publishes: nil when it publishes none (the channel
    /// then uses its default), a failure when what it published is invalid (the channel then
    /// keeps the config it had, as grpc-go does).
    public var serviceConfig: Result<ServiceConfig, ServiceConfigError>?

    public init(endpoints: [Endpoint], serviceConfig: Result<ServiceConfig, ServiceConfigError>? = nil) {
        self.endpoints = endpoints
        self.serviceConfig = serviceConfig
    }
}

/// Turns a target into endpoints, and tells the channel whenever they change.
///
/// A resolver pushes: ``updates`` yields a result as soon as one is known and again on every
/// change, until the channel stops reading. DNS re-resolves when asked (``resolveNow()``); a
/// discovery system (etcd, the in-memory registry) yields as its registry changes.
public protocol NameResolver: Sendable {
    /// Every resolution, the first as soon as known. An error ends the sequence and puts the
    /// channel in TRANSIENT_FAILURE with it; the channel makes a new resolver later.
    var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable { get }
    /// The channel lost a connection or failed to connect: resolve again if the resolver
    /// polls (DNS), no sooner than its minimum interval. Push-based resolvers ignore it.
    func resolveNow()
}

/// Makes resolvers for the targets of one scheme.
public protocol NameResolverFactory: Sendable {
    /// The scheme this factory resolves, lower-case: `dns`, `etcd`, `memory`.
    var scheme: String { get }
    /// A resolver for `target`, whose scheme is this factory's.
    ///
    /// - Throws: ``ResolverTargetError`` when the target's endpoint makes no sense to this
    ///   resolver.
    func makeResolver(for target: ResolverTarget) throws -> any NameResolver
}

/// The resolvers a channel can use, by scheme. Transports register theirs (SluiceHTTP2 adds
/// `dns`); applications add discovery systems.
public struct NameResolverRegistry: Sendable {
    private var factories: [String: any NameResolverFactory] = [:]

    /// A registry of the resolvers that need no network: `ipv4`, `ipv6`, `unix`,
    /// `unix-abstract`.
    public init() {
        for scheme in ["ipv4", "ipv6", "unix", "unix-abstract"] { register(LiteralAddressResolverFactory(scheme: scheme)) }
    }

    /// Adds `factory`, replacing any of its scheme.
    public mutating func register(_ factory: any NameResolverFactory) {
        factories[factory.scheme.lowercased()] = factory
    }

    /// The schemes registered.
    public var schemes: Set<String> { Set(factories.keys) }

    /// A resolver for `text`, parsed with the registered schemes (an unknown scheme means a
    /// DNS name).
    ///
    /// - Throws: ``ResolverTargetError`` naming what is wrong, including a scheme no factory
    ///   resolves.
    public func makeResolver(for text: String) throws -> (target: ResolverTarget, resolver: any NameResolver) {
        let target = try ResolverTarget(parsing: text, knownSchemes: schemes.union(ResolverTarget.builtInSchemes))
        guard let factory = factories[target.scheme] else {
            throw ResolverTargetError(target: text, problem: "no resolver for scheme '\(target.scheme)' is registered")
        }
        return (target, try factory.makeResolver(for: target))
    }
}

/// Resolves targets that are addresses already: `ipv4:`, `ipv6:`, `unix:`, `unix-abstract:`.
struct LiteralAddressResolverFactory: NameResolverFactory {
    let scheme: String

    func makeResolver(for target: ResolverTarget) throws -> any NameResolver {
        let addresses = try target.literalAddresses() ?? []
        // Each address is an endpoint of its own, so round_robin spreads over them.
        return StaticNameResolver(ResolutionResult(endpoints: addresses.map { Endpoint($0) }))
    }
}

/// A resolver whose one result never changes.
public struct StaticNameResolver: NameResolver {
    let result: ResolutionResult

    public init(_ result: ResolutionResult) {
        self.result = result
    }

    public var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable {
        AsyncThrowingStream { continuation in
            continuation.yield(result)
            // Left open: ending would read as the resolver failing.
        }
    }

    public func resolveNow() {}
}
