/// Why an attempt of a client call was made (gRFC A96's `grpc.attempt_type`).
public enum ClientAttemptKind: String, Sendable, Hashable {
    /// The call's first attempt.
    case original
    /// An attempt made after an earlier one failed, under a retry policy.
    case retry
    /// An attempt made beside earlier ones, under a hedging policy.
    case hedge
}

/// One attempt of a client call: what a ``ClientAttemptTracer`` is told when it starts. (The
/// call's method is not repeated here: a tracer is made for one call and knows it, and a
/// plain value is copied at no cost on every attempt's hot path.)
public struct ClientAttempt: Sendable, Hashable {
    /// 1 for the first attempt, 2 for the next, ...
    public var number: Int
    /// Why the attempt was made.
    public var kind: ClientAttemptKind
    /// When the attempt began, before the transport was asked for a stream.
    public var started: ContinuousClock.Instant

    public init(number: Int, kind: ClientAttemptKind, started: ContinuousClock.Instant) {
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

/// How a client call ended, for its ``ClientCallTracer``.
public struct ClientCallEnd: Sendable {
    /// The call's status; nil for OK.
    public var error: RPCError?

    public init(error: RPCError?) {
        self.error = error
    }
}

/// Hears of one client call and each of its attempts: gRFC A66's call tracer.
public protocol ClientCallTracer: ClientAttemptTracer {
    /// The call ended: its status arrived, or it failed before a stream opened. Called once.
    func callEnded(_ end: ClientCallEnd)
}

/// Makes a ``ClientCallTracer`` for every call a client makes.
///
/// An interceptor that is also a factory (SluiceObservability's `ClientMetricsInterceptor`
/// is) is not run as an interceptor by ``GRPCClient``: the client asks it for a tracer when
/// each call starts and tells the tracer of the call's attempts and end itself. That costs no interceptor frame, no
/// closure and no copy of the call's request or response, which matters for instruments that
/// run on every call. Its `intercept` is still there for code that runs interceptors itself.
public protocol ClientCallTracerFactory: Sendable {
    /// A tracer for one call to `method`, made as the call starts.
    func makeCallTracer(for method: MethodDescriptor) -> any ClientCallTracer
}

/// The tracers of one call, when the client has several factories.
struct ClientCallTracerPair: ClientCallTracer {
    let first: any ClientCallTracer
    let second: any ClientCallTracer

    func attemptStarted(_ attempt: ClientAttempt) {
        first.attemptStarted(attempt)
        second.attemptStarted(attempt)
    }

    func attemptEnded(_ attempt: ClientAttempt, _ end: ClientAttemptEnd) {
        first.attemptEnded(attempt, end)
        second.attemptEnded(attempt, end)
    }

    func callEnded(_ end: ClientCallEnd) {
        first.callEnded(end)
        second.callEnded(end)
    }
}
