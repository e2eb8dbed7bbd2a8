/// The life of one server connection, as a value type: the handshake deadline, idleness,
/// age and its grace period (gRFC A9). Every method says what the connection must do; the
/// ``ServerConnectionHandler`` schedules the timers and writes the frames.
struct ServerConnectionLifecycle {
    typealias Instant = ContinuousClock.Instant

    enum Phase: Equatable {
        /// Accepted; the client has not yet sent its preface and SETTINGS.
        case handshaking
        case active
        /// GOAWAY sent: no new streams; the connection closes when its calls end (or when the
        /// grace period runs out).
        case draining
        case closed
    }

    enum Action: Equatable {
        case none
        /// Send GOAWAY (NO_ERROR) with this debug text; close at once if no calls are open.
        case goAway(String, closeNow: Bool)
        /// Close the connection now.
        case close
        /// Close the connection once everything written to it so far has gone out: the last
        /// stream's final frames may still be in the pipeline when it closes.
        case closeWhenWritten
    }

    let limits: ServerConnectionLimits
    private(set) var phase = Phase.handshaking
    private(set) var openStreams = 0
    /// When the connection last had no open streams; nil while it has some.
    private(set) var idleSince: Instant?
    /// When the connection reaches its maximum age (jitter applied), if it has one.
    let ageDeadline: Instant?
    /// When calls still running after the age GOAWAY are cut off.
    private(set) var graceDeadline: Instant?

    /// - Parameter jitter: A factor in 0.9...1.1 applied to the maximum age.
    init(limits: ServerConnectionLimits, acceptedAt now: Instant, jitter: Double) {
        self.limits = limits
        idleSince = now
        ageDeadline = limits.maxConnectionAge.map { now + $0 * jitter }
    }

    /// When the handshake must be complete, if there is a limit.
    func handshakeDeadline(acceptedAt: Instant) -> Instant? {
        limits.handshakeTimeout.map { acceptedAt + $0 }
    }

    /// The client's SETTINGS arrived: the handshake is done.
    mutating func handshakeCompleted() {
        if phase == .handshaking { phase = .active }
    }

    /// The handshake timer fired.
    mutating func handshakeTimerFired() -> Action {
        guard phase == .handshaking else { return .none }
        phase = .closed
        return .close
    }

    mutating func streamOpened() {
        openStreams += 1
        idleSince = nil
    }

    mutating func streamClosed(at now: Instant) -> Action {
        openStreams = max(0, openStreams - 1)
        guard openStreams == 0 else { return .none }
        idleSince = now
        if phase == .draining {
            phase = .closed
            return .closeWhenWritten
        }
        return .none
    }

    /// When the idle timer should next look, if idleness is limited.
    func nextIdleCheck() -> Instant? {
        guard let limit = limits.maxConnectionIdle, let idleSince, phase == .active else { return nil }
        return idleSince + limit
    }

    /// The idle timer fired at `now`.
    mutating func idleTimerFired(at now: Instant) -> Action {
        guard phase == .active, let limit = limits.maxConnectionIdle, let idleSince, now >= idleSince + limit else {
            return .none
        }
        phase = .closed
        return .goAway("max_idle", closeNow: true)
    }

    /// The age timer fired at `now`.
    mutating func ageTimerFired(at now: Instant) -> Action {
        guard phase == .active || phase == .handshaking else { return .none }
        if openStreams == 0 {
            phase = .closed
            return .goAway("max_age", closeNow: true)
        }
        phase = .draining
        graceDeadline = limits.maxConnectionAgeGrace.map { now + $0 }
        return .goAway("max_age", closeNow: false)
    }

    /// The server began a graceful shutdown: GOAWAY, and close once the calls open now have
    /// ended (the server's own grace period, not this connection's, cuts them off).
    mutating func shutdownRequested() -> Action {
        switch phase {
        case .draining, .closed:
            return .none
        case .handshaking, .active:
            if openStreams == 0 {
                phase = .closed
                return .goAway("server_shutdown", closeNow: true)
            }
            phase = .draining
            return .goAway("server_shutdown", closeNow: false)
        }
    }

    /// The grace timer fired.
    mutating func graceTimerFired() -> Action {
        guard phase == .draining else { return .none }
        phase = .closed
        return .close
    }
}
