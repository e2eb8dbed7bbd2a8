@testable import Sluice
import SeedServices
import SluiceTestSupport
import Testing

@Suite("Circuit breaker, state by state")
struct CircuitBreakerStateMachineTests {
    let configuration = CircuitBreakerConfiguration(failureThreshold: 3, recoveryTimeout: .seconds(10), monitoringPeriod: .seconds(5))
    let start = ContinuousClock.now

    @Test("CLOSED counts expected errors in the window and opens at the threshold")
    func opens() {
        var machine = CircuitBreakerStateMachine(configuration: configuration)
        #expect(machine.admit(now: start) == .allow(probe: false))
        machine.record(.unavailable, probe: false, now: start)
        machine.record(.notFound, probe: false, now: start)           // the caller's mistake: not counted
        machine.record(.unavailable, probe: false, now: start + .seconds(1))
        #expect(machine.state == .closed)
        // The first failure has left the 5 s window: two in it, still closed.
        machine.record(.deadlineExceeded, probe: false, now: start + .seconds(6))
        #expect(machine.state == .closed)
        machine.record(.internal, probe: false, now: start + .seconds(6))
        #expect(machine.state == .open)
        #expect(machine.metrics.lastTransition == start + .seconds(6))
        #expect(machine.metrics.failed == 4)
        #expect(machine.metrics.successful == 1)
    }

    @Test("OPEN rejects until the recovery timeout, then HALF_OPEN lets one probe through")
    func recovers() {
        var machine = CircuitBreakerStateMachine(configuration: configuration)
        for _ in 0..<3 { machine.record(.unavailable, probe: false, now: start) }
        #expect(machine.admit(now: start + .seconds(9)) == .reject)
        #expect(machine.admit(now: start + .seconds(10)) == .allow(probe: true))
        #expect(machine.state == .halfOpen)
        #expect(machine.admit(now: start + .seconds(10)) == .reject)     // one probe at a time
        machine.record(.ok, probe: true, now: start + .seconds(11))
        #expect(machine.state == .closed)
        #expect(machine.metrics.rejected == 2)
        #expect(machine.metrics.total == 3)
    }

    @Test("a failed probe opens the circuit again for another recovery timeout")
    func failedProbe() {
        var machine = CircuitBreakerStateMachine(configuration: configuration)
        for _ in 0..<3 { machine.record(.unavailable, probe: false, now: start) }
        #expect(machine.admit(now: start + .seconds(10)) == .allow(probe: true))
        machine.record(.unavailable, probe: true, now: start + .seconds(10))
        #expect(machine.state == .open)
        #expect(machine.admit(now: start + .seconds(19)) == .reject)
        #expect(machine.admit(now: start + .seconds(20)) == .allow(probe: true))
    }
}

@Suite("Circuit breaker per client", .timeLimit(.minutes(1)))
struct CircuitBreakerInterceptorTests {
    @Test("after the threshold calls fail at once without reaching the server, and a probe closes the circuit")
    func perClient() async throws {
        let calls = Observed(0)
        let failing = Observed(true)
        let (clientSide, serverSide) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverSide, services: [CatalogService()], interceptors: [CountingFailer(calls: calls, failing: failing)])
        let serving = Task { try await server.serve() }
        let transitions = Observed<[CircuitState]>([])
        let breaker = CircuitBreaker(CircuitBreakerConfiguration(failureThreshold: 2, recoveryTimeout: .milliseconds(200)),
                                     onTransition: { state in transitions.update { $0.append(state) } })
        let catalog = Catalog_ProductService.Client(wrapping: GRPCClient(transport: clientSide, interceptors: [CircuitBreakerInterceptor(breaker)]))
        for _ in 0..<2 {
            await #expect(throws: RPCError.self) { _ = try await catalog.getProduct(Catalog_GetProductRequest()) }
        }
        try await waitWhile { breaker.state != .open }
        await #expect(throws: RPCError(code: .unavailable, message: "circuit open")) {
            _ = try await catalog.getProduct(Catalog_GetProductRequest())
        }
        #expect(calls.value == 2)
        failing.update { $0 = false }
        try await Task.sleep(for: .milliseconds(250))
        _ = try await catalog.getProduct(Catalog_GetProductRequest())
        try await waitWhile { breaker.state != .closed }
        #expect(transitions.value == [.open, .halfOpen, .closed])
        let metrics = breaker.metrics
        #expect(metrics.total == 4)
        #expect(metrics.failed == 2)
        #expect(metrics.successful == 1)
        #expect(metrics.rejected == 1)
        server.beginGracefulShutdown()
        try await serving.value
    }
}

/// Counts calls, and fails them with UNAVAILABLE while `failing` is set.
struct CountingFailer: ServerInterceptor {
    let calls: Observed<Int>
    let failing: Observed<Bool>

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        calls.update { $0 += 1 }
        if failing.value { throw RPCError(code: .unavailable, message: "overloaded") }
        return try await next(request, context)
    }
}
