/// Why an attempt of a client call was made (gRFC A96's `grpc.attempt_type`).
public enum ClientAttemptKind: String, Sendable, Hashable {
    /// The call's first attempt.
    case original
    /// An attempt made after an earlier one failed, under a retry policy.
    case retry
    /// An attempt made beside earlier ones, under a hedging policy.
    case hedge
}

/// One attempt of a client call: what a ``ClientAttemptTracer`` is told when it starts.
public struct ClientAttempt: Sendable {
    /// The call's method.
    public var method: MethodDescriptor
    /// 1 for the first attempt, 2 for the next, ...
    public var number: Int
    /// Why the attempt was made.
    public var kind: ClientAttemptKind
    /// When the attempt began, before the transport was asked for a stream.
    public var started: ContinuousClock.Instant

    public init(method: MethodDescriptor, number: Int, kind: ClientAttemptKind, started: ContinuousClock.Instant) {
        self.method = method
        self.number = number
        self.kind = kind
        self.started = started
    }
}

/// How one attempt ended.
public struct ClientAttemptEnd: Sendable {
    /// The attempt's status; nil for OK.
    public var error: RPCError?
    /// What the attempt itself sent and received (a replayed request counts on every attempt
    /// that sent it).
    public var statistics: CallStatistics
    /// When the attempt's status was known.
    public var ended: ContinuousClock.Instant

    public init(error: RPCError?, statistics: CallStatistics, ended: ContinuousClock.Instant) {
        self.error = error
        self.statistics = statistics
        self.ended = ended
    }
}

/// Hears of every attempt of one client call: gRFC A66's call-attempt tracer. A client
/// interceptor that wants per-attempt figures (a call's retries and hedges happen below the
/// interceptors, which see the call once) makes one per call and adds it to the call's
/// ``ClientContext`` with ``ClientContext/addAttemptTracer(_:)``.
///
/// Both methods are called on whatever thread starts or ends the attempt, possibly an event
/// loop: they must be quick and must not block. Hedged attempts overlap, so calls for
/// different attempts of one call may come concurrently.
public protocol ClientAttemptTracer: Sendable {
    /// An attempt is starting. Called before the transport is asked for its stream.
    func attemptStarted(_ attempt: ClientAttempt)
    /// The attempt ended, or could not open a stream (then with its error and zero counts).
    /// Called once per ``attemptStarted(_:)``.
    func attemptEnded(_ attempt: ClientAttempt, _ end: ClientAttemptEnd)
}

extension ClientContext {
    /// Adds `tracer` to the tracers that hear of this call's attempts.
    public mutating func addAttemptTracer(_ tracer: any ClientAttemptTracer) {
        attemptTracer = attemptTracer.map { AttemptTracerPair(first: $0, second: tracer) } ?? tracer
    }
}

/// Two tracers as one, so that a context holds one optional tracer (no array per call) however
/// many interceptors add theirs.
private struct AttemptTracerPair: ClientAttemptTracer {
    let first: any ClientAttemptTracer
    let second: any ClientAttemptTracer

    func attemptStarted(_ attempt: ClientAttempt) {
        first.attemptStarted(attempt)
        second.attemptStarted(attempt)
    }

    func attemptEnded(_ attempt: ClientAttempt, _ end: ClientAttemptEnd) {
        first.attemptEnded(attempt, end)
        second.attemptEnded(attempt, end)
    }
}
