import Sluice
import Testing

@Suite("Load-balancing policies, state by state")
struct LoadBalancingPolicyTests {
    @Test("round_robin connects everything, rotates over READY subchannels, queues while connecting, fails when all fail")
    func roundRobin() {
        var policy = RoundRobinPolicy()
        let states: [ConnectivityState] = [.ready, .transientFailure, .ready, .connecting]
        #expect(policy.subchannelsToConnect(states) == [0, 1, 2, 3])
        let picks = (0..<4).map { _ in policy.pick(states) }
        #expect(picks == [.use(0), .use(2), .use(0), .use(2)])
        #expect(policy.aggregateState(states) == .ready)
        #expect(policy.pick([.connecting, .transientFailure]) == .queue)
        #expect(policy.aggregateState([.connecting, .transientFailure]) == .connecting)
        guard case .fail(let error) = policy.pick([.transientFailure, .transientFailure]) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .unavailable)
        guard case .fail = policy.pick([]) else {
            Issue.record("no endpoints must fail")
            return
        }
    }

    @Test("pick_first connects one at a time in order, uses the first READY, and moves on past failures")
    func pickFirst() {
        var policy = PickFirstPolicy()
        #expect(policy.subchannelsToConnect([.idle, .idle]) == [0])
        #expect(policy.subchannelsToConnect([.transientFailure, .idle]) == [1])
        #expect(policy.subchannelsToConnect([.transientFailure, .connecting]) == [1])
        #expect(policy.subchannelsToConnect([.transientFailure, .transientFailure]) == [0, 1])
        #expect(policy.pick([.ready, .ready]) == .use(0))
        #expect(policy.pick([.transientFailure, .ready]) == .use(1))
        #expect(policy.pick([.transientFailure, .connecting]) == .queue)
        #expect(policy.aggregateState([.transientFailure, .connecting]) == .connecting)
        #expect(policy.aggregateState([.transientFailure, .transientFailure]) == .transientFailure)
    }
}
