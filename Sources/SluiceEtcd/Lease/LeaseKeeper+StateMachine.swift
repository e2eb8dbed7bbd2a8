/// What a lease's holder may believe about it: until when it is certainly alive.
///
/// etcd renews a lease for its TTL from the moment it handles a keep-alive; that moment is
/// no earlier than when the holder sent the request. So "alive until the send time of the
/// last renewing request plus the TTL etcd answered" can only err early, never late, whatever
/// the network's delays. The holder counts the lease lost from that instant on, even if a
/// renewal arrives afterwards: by then another holder may have been told the lease was gone.
/// Once lost, a lease stays lost.
struct LeaseKeepAliveStateMachine: Sendable {
    enum State: Sendable, Equatable {
        case alive(expiresBy: ContinuousClock.Instant)
        case lost
    }

    enum ResponseOutcome: Sendable, Equatable {
        /// The lease is alive until the new instant.
        case renewed(expiresBy: ContinuousClock.Instant)
        /// etcd said the lease is gone, or the renewal came after the lease had expired here.
        case lost
        /// Nothing changed: the lease was lost already, or no request was waiting for it.
        case ignored
    }

    private(set) var state: State
    /// Send times of the keep-alives not yet answered, oldest first: one stream answers in
    /// order.
    private var outstanding: [ContinuousClock.Instant] = []

    /// A lease granted with `ttl`, from a grant request sent at `requestedAt`.
    init(requestedAt: ContinuousClock.Instant, ttl: Duration) {
        state = .alive(expiresBy: requestedAt + ttl)
    }

    /// Until when the lease is alive, or nil once lost.
    var expiresBy: ContinuousClock.Instant? {
        if case .alive(let instant) = state { return instant }
        return nil
    }

    /// A keep-alive is about to go out at `now`; false if the lease is lost (send nothing).
    mutating func sending(at now: ContinuousClock.Instant) -> Bool {
        guard isAlive(at: now) else { return false }
        outstanding.append(now)
        return true
    }

    /// etcd answered the oldest outstanding keep-alive with `ttl` seconds (0 or less: gone).
    mutating func received(ttl: Int64, at now: ContinuousClock.Instant) -> ResponseOutcome {
        guard case .alive(let current) = state else { return .ignored }
        guard !outstanding.isEmpty else { return .ignored }
        let sentAt = outstanding.removeFirst()
        guard ttl > 0, now < current else {
            state = .lost
            return .lost
        }
        let renewed = max(current, sentAt + .seconds(ttl))
        state = .alive(expiresBy: renewed)
        return .renewed(expiresBy: renewed)
    }

    /// The keep-alive stream ended: its unanswered requests will never be answered.
    mutating func streamEnded() {
        outstanding.removeAll()
    }

    /// Whether the lease is alive at `now`; past its expiry it becomes lost.
    mutating func isAlive(at now: ContinuousClock.Instant) -> Bool {
        guard case .alive(let expiresBy) = state else { return false }
        guard now < expiresBy else {
            state = .lost
            return false
        }
        return true
    }

    /// The holder gave the lease up (revoked it, or stopped keeping it).
    mutating func giveUp() {
        state = .lost
        outstanding.removeAll()
    }
}
