/// The states of a circuit breaker.
public enum CircuitState: String, Sendable, Hashable, CustomStringConvertible {
    /// Calls flow; failures are counted.
    case closed = "CLOSED"
    /// Calls are refused at once, without touching the network, until the recovery timeout.
    case open = "OPEN"
    /// A limited number of probe calls go through; a success closes the circuit, a failure
    /// opens it again.
    case halfOpen = "HALF_OPEN"

    public var description: String { rawValue }
}

/// When a circuit breaker opens and how it recovers (seed 001's options).
public struct CircuitBreakerConfiguration: Sendable, Hashable {
    /// Failures within ``monitoringPeriod`` that open the circuit.
    public var failureThreshold: Int
    /// How long an open circuit refuses calls before letting probes through.
    public var recoveryTimeout: Duration
    /// The window in which failures are counted.
    public var monitoringPeriod: Duration
    /// The statuses that count as failures; others (NOT_FOUND, INVALID_ARGUMENT: the caller's
    /// mistakes) count as successes of the server.
    public var expectedErrors: Set<StatusCode>
    /// Probe calls allowed at once while HALF_OPEN.
    public var halfOpenProbes: Int

    public init(failureThreshold: Int = 5, recoveryTimeout: Duration = .seconds(30), monitoringPeriod: Duration = .seconds(60),
                expectedErrors: Set<StatusCode> = [.unavailable, .deadlineExceeded, .internal, .unknown],
                halfOpenProbes: Int = 1) {
        self.failureThreshold = max(1, failureThreshold)
        self.recoveryTimeout = recoveryTimeout
        self.monitoringPeriod = monitoringPeriod
        self.expectedErrors = expectedErrors
        self.halfOpenProbes = max(1, halfOpenProbes)
    }
}

/// A circuit breaker's counts, as code reads them (seed 001's `getCircuitBreakerMetrics`).
public struct CircuitBreakerMetrics: Sendable, Hashable {
    public var state: CircuitState
    /// Calls offered, admitted or not.
    public var total: Int
    public var successful: Int
    public var failed: Int
    /// Calls refused while open (or past the half-open probes).
    public var rejected: Int
    /// When the state last changed; nil if it never has.
    public var lastTransition: ContinuousClock.Instant?
}

/// A circuit breaker's logic as a value: asked whether a call may go, told how calls ended,
/// given the time by its caller. ``CircuitBreaker`` performs it under a lock.
struct CircuitBreakerStateMachine {
    enum Admission: Equatable {
        /// Go ahead; `probe` when the circuit is half-open and this call decides it.
        case allow(probe: Bool)
        case reject
    }

    let configuration: CircuitBreakerConfiguration
    private(set) var state = CircuitState.closed
    private(set) var metrics = CircuitBreakerMetrics(state: .closed, total: 0, successful: 0, failed: 0, rejected: 0)
    /// When each failure counted in the current window happened, oldest first.
    private var failures: [ContinuousClock.Instant] = []
    private var openedAt: ContinuousClock.Instant?
    private var probesInFlight = 0

    init(configuration: CircuitBreakerConfiguration) {
        self.configuration = configuration
    }

    /// Whether a call may start now.
    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        metrics.total += 1
        if state == .open, let openedAt, now - openedAt >= configuration.recoveryTimeout {
            transition(to: .halfOpen, now: now)
        }
        switch state {
        case .closed:
            return .allow(probe: false)
        case .open:
            metrics.rejected += 1
            return .reject
        case .halfOpen:
            guard probesInFlight < configuration.halfOpenProbes else {
                metrics.rejected += 1
                return .reject
            }
            probesInFlight += 1
            return .allow(probe: true)
        }
    }

    /// An admitted call ended with `code` (`.ok` for success).
    mutating func record(_ code: StatusCode, probe: Bool, now: ContinuousClock.Instant) {
        if probe { probesInFlight = max(0, probesInFlight - 1) }
        let failed = code != .ok && configuration.expectedErrors.contains(code)
        if failed { metrics.failed += 1 } else { metrics.successful += 1 }
        switch state {
        case .halfOpen:
            // Only probes decide; a call admitted before the circuit opened says nothing new.
            guard probe else { return }
            if failed {
                open(now: now)
            } else {
                failures = []
                transition(to: .closed, now: now)
            }
        case .closed:
            guard failed else { return }
            failures.append(now)
            let period = configuration.monitoringPeriod
            failures.removeAll { now - $0 > period }
            if failures.count >= configuration.failureThreshold { open(now: now) }
        case .open:
            break
        }
    }

    private mutating func open(now: ContinuousClock.Instant) {
        openedAt = now
        failures = []
        transition(to: .open, now: now)
    }

    private mutating func transition(to new: CircuitState, now: ContinuousClock.Instant) {
        guard new != state else { return }
        state = new
        metrics.state = new
        metrics.lastTransition = now
    }
}
