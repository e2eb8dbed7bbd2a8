/// The decisions of a retried call (gRFC A6), as a value: fed each attempt's outcome, it says
/// whether to try again and after how long. The call path performs what it decides.
struct RetryStateMachine {
    enum Decision: Equatable {
        /// Start the next attempt after `delay`.
        case retry(after: Duration)
        /// End the call with the last attempt's outcome; `reason` says why, for logs.
        case stop(reason: StopReason)
    }

    enum StopReason: Equatable {
        case succeeded
        case committed
        case notRetryable(StatusCode)
        case attemptsExhausted
        case pushbackRefused
        case throttled
    }

    let policy: RetryPolicy
    /// Attempts started so far, the first included.
    private(set) var attempts = 1
    /// The ceiling of the next backoff (before jitter).
    private var backoffCeiling: Duration

    init(policy: RetryPolicy) {
        self.policy = policy
        self.backoffCeiling = policy.initialBackoff
    }

    /// An attempt ended.
    ///
    /// - Parameters:
    ///   - code: Its status (`.ok` for success).
    ///   - committed: Whether the call had committed to it (response headers or a message
    ///     arrived, or the request buffer overflowed): then nothing is retried.
    ///   - pushback: The `grpc-retry-pushback-ms` value the server sent, if any.
    ///   - throttleAllows: Whether the channel's throttle allows retries after counting
    ///     this failure.
    ///   - jitter: A random value in 0..<1, for the full jitter of A6.
    mutating func attemptEnded(code: StatusCode, committed: Bool, pushback: String?, throttleAllows: Bool,
                               jitter: Double) -> Decision {
        if code == .ok { return .stop(reason: .succeeded) }
        if committed { return .stop(reason: .committed) }
        guard policy.retryableStatusCodes.contains(code) else { return .stop(reason: .notRetryable(code)) }
        guard throttleAllows else { return .stop(reason: .throttled) }
        guard attempts < policy.maxAttempts else { return .stop(reason: .attemptsExhausted) }
        let delay: Duration
        if let pushback {
            // A6: a non-negative integer is the delay, and backoff starts over; anything else
            // (negative, malformed) means the server wants no more retries.
            guard let milliseconds = Int(pushback), milliseconds >= 0 else { return .stop(reason: .pushbackRefused) }
            delay = .milliseconds(milliseconds)
            backoffCeiling = policy.initialBackoff
        } else {
            // A6: the n-th retry waits random(0, min(initialBackoff * multiplier^(n-1), maxBackoff)).
            delay = backoffCeiling * max(0, min(jitter, 1))
            backoffCeiling = min(backoffCeiling * policy.backoffMultiplier, policy.maxBackoff)
        }
        attempts += 1
        return .retry(after: delay)
    }
}
