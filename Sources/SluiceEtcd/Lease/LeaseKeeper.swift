import Logging
import Sluice
import Synchronization

extension EtcdClient {
    /// Grants a lease of `ttl` and keeps it alive until ``LeaseKeeper/revoke()`` or
    /// ``LeaseKeeper/stop()``, renewing every `keepAliveInterval` (a third of the TTL by
    /// default).
    public func keepLeaseAlive(ttl: Duration, keepAliveInterval: Duration? = nil) async throws -> LeaseKeeper {
        let seconds = max(1, Int64((ttl / .seconds(1)).rounded(.up)))
        let requestedAt = ContinuousClock.now
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = seconds
        let granted = try await call { try await leaseService.leaseGrant(request, metadata: [:], options: requestOptions).message }
        guard granted.error.isEmpty, granted.id != 0, granted.ttl > 0 else {
            throw EtcdError.protocolViolation("LeaseGrant answered id \(granted.id), TTL \(granted.ttl), error '\(granted.error)'")
        }
        let interval = keepAliveInterval ?? .seconds(granted.ttl) / 3
        return LeaseKeeper(client: self, id: granted.id, ttl: .seconds(granted.ttl), requestedAt: requestedAt, interval: interval)
    }

    /// Revokes lease `id`: every key bound to it is deleted at once.
    public func revokeLease(_ id: Int64) async throws {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        _ = try await call { try await leaseService.leaseRevoke(request, metadata: [:], options: requestOptions) }
    }

    /// The seconds lease `id` has left by etcd's clock; -1 when it has expired or never existed.
    public func timeToLive(ofLease id: Int64) async throws -> Int64 {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        return try await call { try await leaseService.leaseTimeToLive(request, metadata: [:], options: requestOptions).message.ttl }
    }
}

/// Keeps one etcd lease alive over a LeaseKeepAlive stream, reconnecting when the stream
/// breaks, and knows until when the lease is certainly alive
/// (`LeaseKeepAliveStateMachine`): ``isAlive`` turns false, and ``waitUntilLost()`` returns,
/// at that instant if no renewal came, even if etcd has not noticed yet. A lost lease stays
/// lost; its keeper stops.
public final class LeaseKeeper: Sendable {
    /// The lease's id, to bind keys to (``EtcdClient/put(_:value:lease:)``).
    public let id: Int64
    /// The TTL etcd granted.
    public let ttl: Duration
    /// How often a keep-alive goes out.
    public let interval: Duration
    private let client: EtcdClient
    private let machine: Mutex<LeaseKeepAliveStateMachine>
    private let lostSignal = OneTimeSignal()
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(client: EtcdClient, id: Int64, ttl: Duration, requestedAt: ContinuousClock.Instant, interval: Duration) {
        self.client = client
        self.id = id
        self.ttl = ttl
        self.interval = interval
        self.machine = Mutex(LeaseKeepAliveStateMachine(requestedAt: requestedAt, ttl: ttl))
        let keeping = Task { [self] in await self.keep() }
        task.withLock { $0 = keeping }
    }

    /// Whether the lease is certainly alive now.
    public var isAlive: Bool {
        let now = ContinuousClock.now
        let alive = machine.withLock { $0.isAlive(at: now) }
        if !alive { lostSignal.fire() }
        return alive
    }

    /// Until when the lease is certainly alive, or nil once it is lost.
    public var expiresBy: ContinuousClock.Instant? {
        machine.withLock { $0.expiresBy }
    }

    /// Returns when the lease is lost (or given up), or when the calling task is cancelled.
    public func waitUntilLost() async {
        await lostSignal.wait()
    }

    /// Stops renewing and revokes the lease, deleting its keys at once. The keeper counts the
    /// lease lost from the start of the call.
    public func revoke() async throws {
        stop()
        try await client.revokeLease(id)
    }

    /// Stops renewing; etcd lets the lease expire at the end of its TTL. The keeper counts it
    /// lost at once.
    public func stop() {
        machine.withLock { $0.giveUp() }
        lostSignal.fire()
        task.withLock { $0 }?.cancel()
    }

    private func keep() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.renew() }
            group.addTask { await self.watchExpiry() }
            await lostSignal.wait()
            group.cancelAll()
        }
    }

    /// Wakes at each expiry instant; if no renewal moved it, the lease is lost.
    private func watchExpiry() async {
        while let expiresBy = expiresBy {
            try? await Task.sleep(until: expiresBy, clock: .continuous)
            if Task.isCancelled { return }
            _ = isAlive
        }
        lostSignal.fire()
    }

    /// Keep-alive streams, one after another, until the lease is lost.
    private func renew() async {
        var delay = RetryDelay(minimum: client.configuration.minimumRetryDelay, maximum: client.configuration.maximumRetryDelay)
        while !Task.isCancelled && !lostSignal.hasFired {
            do {
                try await session(resetting: &delay)
            } catch {
                client.logger?.debug("etcd lease keep-alive stream failed; reconnecting",
                                     metadata: ["lease": "\(String(id, radix: 16))", "error": "\(error)"])
            }
            machine.withLock { $0.streamEnded() }
            if lostSignal.hasFired { return }
            try? await Task.sleep(for: delay.next())
        }
    }

    /// One LeaseKeepAlive stream: a request every interval, each answer renewing the lease.
    private func session(resetting delay: inout RetryDelay) async throws {
        let call = try await client.leaseService.leaseKeepAlive(metadata: [:], options: CallOptions())
        defer { call.requests.finish() }
        let id = self.id
        let interval = self.interval
        let sender = Task {
            var request = Etcdserverpb_LeaseKeepAliveRequest()
            request.id = id
            while !Task.isCancelled {
                guard machine.withLock({ $0.sending(at: .now) }) else { return }
                do { try await call.requests.send(request) } catch { return }
                try? await Task.sleep(for: interval)
            }
        }
        defer { sender.cancel() }
        for try await response in call.responses {
            guard response.id == id else {
                throw EtcdError.protocolViolation("a keep-alive of lease \(id) was answered for lease \(response.id)")
            }
            delay.reset()
            let now = ContinuousClock.now
            switch machine.withLock({ $0.received(ttl: response.ttl, at: now) }) {
            case .lost:
                client.logger?.info("etcd lease lost", metadata: ["lease": "\(String(id, radix: 16))", "ttl": "\(response.ttl)"])
                lostSignal.fire()
                return
            case .renewed, .ignored:
                continue
            }
        }
    }
}
