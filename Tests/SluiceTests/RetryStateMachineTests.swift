@testable import Sluice
import Testing

@Suite("Retry decisions (gRFC A6)")
struct RetryStateMachineTests {
    let policy = RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(250),
                             backoffMultiplier: 2, retryableStatusCodes: [.unavailable, .resourceExhausted])

    @Test("backoff grows by the multiplier to the cap, scaled by full jitter")
    func backoff() {
        var machine = RetryStateMachine(policy: policy)
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: true, jitter: 1)
            == .retry(after: .milliseconds(100)))
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: true, jitter: 0.5)
            == .retry(after: .milliseconds(100)))
        #expect(machine.attemptEnded(code: .resourceExhausted, committed: false, pushback: nil, throttleAllows: true, jitter: 1)
            == .retry(after: .milliseconds(250)))
        #expect(machine.attempts == 4)
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: true, jitter: 1)
            == .stop(reason: .attemptsExhausted))
    }

    @Test("success, a committed attempt, a status not listed and an empty throttle stop")
    func stops() {
        var machine = RetryStateMachine(policy: policy)
        #expect(machine.attemptEnded(code: .ok, committed: false, pushback: nil, throttleAllows: true, jitter: 0) == .stop(reason: .succeeded))
        #expect(machine.attemptEnded(code: .unavailable, committed: true, pushback: nil, throttleAllows: true, jitter: 0) == .stop(reason: .committed))
        #expect(machine.attemptEnded(code: .notFound, committed: false, pushback: nil, throttleAllows: true, jitter: 0)
            == .stop(reason: .notRetryable(.notFound)))
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: false, jitter: 0) == .stop(reason: .throttled))
        #expect(machine.attempts == 1)
    }

    @Test("pushback sets the delay and restarts the backoff; a negative or malformed one stops")
    func pushback() {
        var machine = RetryStateMachine(policy: policy)
        _ = machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: true, jitter: 1)
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: "300", throttleAllows: true, jitter: 1)
            == .retry(after: .milliseconds(300)))
        // Backoff starts over from initialBackoff after a pushback.
        #expect(machine.attemptEnded(code: .unavailable, committed: false, pushback: nil, throttleAllows: true, jitter: 1)
            == .retry(after: .milliseconds(100)))
        var refused = RetryStateMachine(policy: policy)
        #expect(refused.attemptEnded(code: .unavailable, committed: false, pushback: "-1", throttleAllows: true, jitter: 1)
            == .stop(reason: .pushbackRefused))
        var malformed = RetryStateMachine(policy: policy)
        #expect(malformed.attemptEnded(code: .unavailable, committed: false, pushback: "soon", throttleAllows: true, jitter: 1)
            == .stop(reason: .pushbackRefused))
    }

    @Test("the throttle stops retries at half its tokens and refills by the ratio")
    func throttle() {
        let throttle = RetryThrottle(RetryThrottling(maxTokens: 4, tokenRatio: 0.5))
        #expect(throttle.allowsRetries)
        #expect(throttle.recordFailure())       // 3 > 2
        #expect(!throttle.recordFailure())      // 2, not above half
        #expect(!throttle.allowsRetries)
        throttle.recordSuccess()                // 2.5
        #expect(throttle.allowsRetries)
        for _ in 0..<10 { throttle.recordSuccess() }
        #expect(throttle.tokenCount == 4)
        for _ in 0..<10 { throttle.recordFailure() }
        #expect(throttle.tokenCount == 0)
    }
}
