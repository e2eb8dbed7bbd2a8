import Synchronization

/// A circuit breaker (CLOSED, OPEN, HALF_OPEN): after ``CircuitBreakerConfiguration/failureThreshold``
/// failures within the monitoring period it refuses calls at once with UNAVAILABLE "circuit
/// open", without touching the network, until the recovery timeout lets a probe through.
///
/// Per client, as an interceptor (``CircuitBreakerInterceptor``); per endpoint, given to a
/// ``GRPCChannel``, whose load balancer then skips endpoints whose circuit is open.
public final class CircuitBreaker: Sendable {
    private let machine: Mutex<CircuitBreakerStateMachine>
    /// Called with each state change, outside the breaker's lock.
    private let onTransition: (@Sendable (CircuitState) -> Void)?

    public init(_ configuration: CircuitBreakerConfiguration = CircuitBreakerConfiguration(),
                onTransition: (@Sendable (CircuitState) -> Void)? = nil) {
        self.machine = Mutex(CircuitBreakerStateMachine(configuration: configuration))
        self.onTransition = onTransition
    }

    /// The counts and state now.
    public var metrics: CircuitBreakerMetrics { machine.withLock { $0.metrics } }

    /// The state now; an open circuit whose recovery timeout has passed reads HALF_OPEN only
    /// once a call is offered.
    public var state: CircuitState { machine.withLock { $0.state } }

    /// Whether an open circuit would still refuse a call now (the recovery timeout has not
    /// passed): what a load balancer checks before picking an endpoint.
    public func isRefusing(now: ContinuousClock.Instant = .now) -> Bool {
        machine.withLock { machine in
            guard machine.state == .open, let opened = machine.metrics.lastTransition else { return false }
            return now - opened < machine.configuration.recoveryTimeout
        }
    }

    /// Asks to start a call: a ticket to report its end with, or UNAVAILABLE "circuit open".
    public func admit() throws(RPCError) -> Ticket {
        let (admission, before, after) = machine.withLock { machine in
            let before = machine.state
            let admission = machine.admit(now: .now)
            return (admission, before, machine.state)
        }
        if before != after { onTransition?(after) }
        switch admission {
        case .allow(let probe):
            return Ticket(probe: probe)
        case .reject:
            throw RPCError(code: .unavailable, message: "circuit open")
        }
    }

    /// Reports how an admitted call ended.
    public func record(_ ticket: Ticket, code: StatusCode) {
        let (before, after) = machine.withLock { machine in
            let before = machine.state
            machine.record(code, probe: ticket.probe, now: .now)
            return (before, machine.state)
        }
        if before != after { onTransition?(after) }
    }

    /// An admitted call, to report the end of.
    public struct Ticket: Sendable {
        let probe: Bool
    }
}

/// A per-client circuit breaker: every call goes through `breaker`, and its status is
/// recorded when it ends.
public struct CircuitBreakerInterceptor: ClientInterceptor {
    public let breaker: CircuitBreaker

    public init(_ breaker: CircuitBreaker) {
        self.breaker = breaker
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let ticket = try breaker.admit()
        let response: StreamingClientResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            breaker.record(ticket, code: (error as? RPCError)?.code ?? .unknown)
            throw error
        }
        let breaker = self.breaker
        response.end.whenSet { outcome in breaker.record(ticket, code: outcome.error?.code ?? .ok) }
        return response
    }
}
