import Foundation
import Logging
import Sluice
import Synchronization

/// A ``Sluice/ServiceRegistry`` in etcd (seed 001's production registry).
///
/// Each instance is a key, `/sluice/services/<service>/<instance-id>` by default, holding the
/// JSON of `sluice.discovery.v1.ServiceInstance` and bound to a lease of ``leaseTTL`` (10 s)
/// that the registration keeps alive in the background. Deregistering revokes the lease, so
/// watchers see the key go at once; a process that dies stops renewing, and its key goes when
/// the lease runs out. If etcd goes away long enough for the lease to expire, the
/// registration registers again when it is back.
///
/// Channels resolve it as `etcd:///<service>`:
///
///     let registry = EtcdServiceRegistry(client: etcd)
///     var resolvers = NameResolverRegistry.http2
///     resolvers.register(registry.resolverFactory)
///     let channel = try GRPCChannel(http2: "etcd:///orders", defaultServiceConfig: roundRobin, resolvers: resolvers)
public final class EtcdServiceRegistry: ServiceRegistry {
    /// The client the registry talks to etcd with.
    public let client: EtcdClient
    /// The key prefix of every service: `/sluice/services/`.
    public let prefix: String
    /// The TTL of each registration's lease.
    public let leaseTTL: Duration
    private let logger: Logger?

    /// A registry in the etcd of `client`, under `prefix`.
    public init(client: EtcdClient, prefix: String = "/sluice/services/", leaseTTL: Duration = .seconds(10), logger: Logger? = nil) {
        self.client = client
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.leaseTTL = leaseTTL
        self.logger = logger ?? client.logger
    }

    /// The `etcd` scheme's resolver over this registry.
    public var resolverFactory: ServiceRegistryResolverFactory {
        ServiceRegistryResolverFactory(scheme: "etcd", registry: self)
    }

    /// The key of an instance.
    public func key(of service: String, id: String) -> String {
        "\(prefix)\(service)/\(id)"
    }

    /// Registers `instance`, retrying with backoff while etcd is unreachable (each failure is
    /// logged at `warning`), until it is registered or the calling task is cancelled.
    ///
    /// - Throws: ``EtcdError/configuration(_:)`` for an instance the registry cannot hold (a
    ///   name with `/`, an address that is not an IP address and port); `CancellationError`.
    public func register(_ instance: ServiceInstance) async throws -> any ServiceRegistration {
        for (field, value) in [("service", instance.service), ("id", instance.id)] where value.isEmpty || value.contains("/") {
            throw EtcdError.configuration("a registered instance's \(field) must be non-empty and without '/'; it is '\(value)'")
        }
        do {
            _ = try instance.endpoint()
        } catch {
            throw EtcdError.configuration("instance \(instance): \(error)")
        }
        let registration = EtcdRegistration(registry: self, instance: instance, value: try instance.registryValue())
        try await registration.start()
        return registration
    }

    public func discover(_ service: String) async throws -> [ServiceInstance] {
        let listed = try await client.get(prefix: servicePrefix(service))
        return instances(from: listed.kvs, of: service).values.sorted { $0.id < $1.id }
    }

    public func watch(_ service: String) -> any AsyncSequence<[ServiceInstance], any Error> & Sendable {
        let (stream, continuation) = AsyncThrowingStream<[ServiceInstance], any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let watching = Task { await follow(service, into: continuation) }
        continuation.onTermination = { _ in watching.cancel() }
        return stream
    }

    func servicePrefix(_ service: String) -> String { "\(prefix)\(service)/" }

    /// Lists, then watches from the revision listed; lists again after a compaction or a
    /// failed list. Quiet while etcd is away: the last set yielded stays the reader's.
    private func follow(_ service: String, into continuation: AsyncThrowingStream<[ServiceInstance], any Error>.Continuation) async {
        var delay = RetryDelay(minimum: client.configuration.minimumRetryDelay, maximum: client.configuration.maximumRetryDelay)
        var lastYielded: [ServiceInstance]?
        while !Task.isCancelled {
            do {
                let listed = try await client.get(prefix: servicePrefix(service))
                delay.reset()
                var current = instances(from: listed.kvs, of: service)
                let list = current.values.sorted { $0.id < $1.id }
                if list != lastYielded {
                    continuation.yield(list)
                    lastYielded = list
                }
                for try await batch in client.watch(servicePrefix(service), from: listed.revision + 1) {
                    for event in batch.events {
                        guard let id = instanceID(of: event.kv.key, service: service) else { continue }
                        switch event.type {
                        case .put:
                            if let instance = decode(event.kv, service: service, id: id) {
                                current[id] = instance
                            } else {
                                current[id] = nil
                            }
                        default:
                            current[id] = nil
                        }
                    }
                    let list = current.values.sorted { $0.id < $1.id }
                    if list != lastYielded {
                        continuation.yield(list)
                        lastYielded = list
                    }
                }
            } catch EtcdError.compacted {
                continue  // list again
            } catch {
                if Task.isCancelled { break }
                logger?.warning("etcd registry: cannot follow \(service); keeping the last instances known and retrying",
                                metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: delay.next())
        }
        continuation.finish()
    }

    private func instances(from kvs: [Mvccpb_KeyValue], of service: String) -> [String: ServiceInstance] {
        var found: [String: ServiceInstance] = [:]
        for kv in kvs {
            guard let id = instanceID(of: kv.key, service: service), let instance = decode(kv, service: service, id: id) else { continue }
            found[id] = instance
        }
        return found
    }

    /// The instance id of a key under the service's prefix; nil for keys deeper down.
    private func instanceID(of key: Data, service: String) -> String? {
        let text = String(decoding: key, as: UTF8.self)
        let servicePrefix = servicePrefix(service)
        guard text.hasPrefix(servicePrefix) else { return nil }
        let id = String(text.dropFirst(servicePrefix.count))
        return id.isEmpty || id.contains("/") ? nil : id
    }

    /// A value someone else wrote badly is skipped with a log line, never a failure.
    private func decode(_ kv: Mvccpb_KeyValue, service: String, id: String) -> ServiceInstance? {
        do {
            let instance = try ServiceInstance(registryValue: [UInt8](kv.value), service: service, id: id)
            _ = try instance.endpoint()
            return instance
        } catch {
            logger?.warning("etcd registry: skipping a malformed instance",
                            metadata: ["key": "\(String(decoding: kv.key, as: UTF8.self))", "error": "\(error)"])
            return nil
        }
    }
}

/// An instance registered in etcd: a key bound to a lease kept alive, registered again if
/// the lease is lost while etcd was away.
final class EtcdRegistration: ServiceRegistration {
    let registry: EtcdServiceRegistry
    let instance: ServiceInstance
    private let value: [UInt8]
    private let keeper = Mutex<LeaseKeeper?>(nil)
    private let deregistered = OneTimeSignal()
    private let maintainer = Mutex<Task<Void, Never>?>(nil)

    init(registry: EtcdServiceRegistry, instance: ServiceInstance, value: [UInt8]) {
        self.registry = registry
        self.instance = instance
        self.value = value
    }

    /// Registers (retrying while etcd is away), then keeps the registration in place.
    func start() async throws {
        try await registerRetrying()
        let task = Task { await self.maintain() }
        maintainer.withLock { $0 = task }
    }

    func deregister() async throws {
        guard !deregistered.hasFired else { return }
        deregistered.fire()
        maintainer.withLock { $0 }?.cancel()
        if let keeper = keeper.withLock({ $0 }) {
            try await keeper.revoke()
        }
    }

    /// Stops renewing without revoking, as a crash would: the key goes when the lease runs
    /// out. For tests.
    func stopKeepingAlive() {
        deregistered.fire()
        maintainer.withLock { $0 }?.cancel()
        keeper.withLock { $0 }?.stop()
    }

    private func registerRetrying() async throws {
        var delay = RetryDelay(minimum: registry.client.configuration.minimumRetryDelay, maximum: registry.client.configuration.maximumRetryDelay)
        while true {
            try Task.checkCancellation()
            if deregistered.hasFired { return }
            do {
                let lease = try await registry.client.keepLeaseAlive(ttl: registry.leaseTTL)
                do {
                    try await registry.client.put(registry.key(of: instance.service, id: instance.id), value: Data(value), lease: lease.id)
                } catch {
                    try? await lease.revoke()
                    throw error
                }
                keeper.withLock { $0 = lease }
                if deregistered.hasFired { try? await lease.revoke() }
                return
            } catch {
                if Task.isCancelled { throw CancellationError() }
                registry.client.logger?.warning("etcd registry: cannot register \(instance); retrying",
                                                metadata: ["endpoints": "\(registry.client.configuration.endpoints)", "error": "\(error)"])
                try await Task.sleep(for: delay.next())
            }
        }
    }

    /// Waits for the lease to be lost; then registers again.
    private func maintain() async {
        while !Task.isCancelled && !deregistered.hasFired {
            guard let lease = keeper.withLock({ $0 }) else { return }
            await lease.waitUntilLost()
            if Task.isCancelled || deregistered.hasFired { return }
            registry.client.logger?.warning("etcd registry: the lease of \(instance) was lost; registering again")
            do { try await registerRetrying() } catch { return }
        }
    }
}
