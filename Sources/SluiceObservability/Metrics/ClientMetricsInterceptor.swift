import CoreMetrics
import Sluice
import Synchronization

/// Records gRFC A66's client instruments through swift-metrics, per attempt and per call, by
/// method, target and status (names in ``GRPCMetricNames``):
///
/// - per attempt (a retried or hedged call has several): `grpc.client.attempt.started`,
///   `grpc.client.attempt.duration` and the bytes the attempt sent and received;
/// - per call: `grpc.client.call.duration`, from the call's start to its status, across
///   attempts and backoff;
/// - for calls that took more than one attempt, gRFC A96's `grpc.client.call.retries` (retry
///   policies) or `grpc.client.call.hedges` (hedging policies), and
///   `grpc.client.call.retry_delay`, the time the call had no attempt in flight.
///
/// ``GRPCClient`` does not run it as an interceptor: it is a ``ClientCallTracerFactory``, whose
/// tracer the client tells of each attempt and of the call's end, with no interceptor frame
/// per call. Message sizes are serialized sizes before compression (equal to A66's
/// compressed sizes on calls without compression).
public struct ClientMetricsInterceptor: ClientInterceptor, ClientCallTracerFactory {
    /// A method's instruments that carry no status. A96's are made when first needed: most
    /// methods are never retried or hedged, and need not export empty series.
    struct PerMethod: Sendable {
        let attemptStarted: Counter
        let retries: LazyInstrument<Recorder>
        let hedges: LazyInstrument<Recorder>
        let retryDelay: LazyInstrument<Timer>
    }

    /// A method's instruments for one status.
    struct ByStatus: Sendable {
        let attemptDuration: Timer
        let callDuration: Timer
        let sent: Recorder
        let received: Recorder
    }

    /// The channel's target, the `grpc.target` attribute.
    public let target: String
    private let instruments: MethodInstruments<PerMethod, ByStatus>

    /// - Parameters:
    ///   - target: The target the client calls, as given to its channel.
    ///   - factory: The metrics backend; by default the one bootstrapped in `MetricsSystem`.
    public init(target: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.target = target
        self.instruments = MethodInstruments { method in
            let base = [(GRPCMetricNames.method, method), (GRPCMetricNames.target, target)]
            let perMethod = PerMethod(
                attemptStarted: Counter(label: GRPCMetricNames.clientAttemptStarted, dimensions: base, factory: factory),
                retries: LazyInstrument {
                    Recorder(label: GRPCMetricNames.clientCallRetries, dimensions: base, aggregate: true, factory: factory)
                },
                hedges: LazyInstrument {
                    Recorder(label: GRPCMetricNames.clientCallHedges, dimensions: base, aggregate: true, factory: factory)
                },
                retryDelay: LazyInstrument {
                    Timer(label: GRPCMetricNames.clientCallRetryDelay, dimensions: base, factory: factory)
                })
            return .init(perMethod) { status in
                let dimensions = base + [(GRPCMetricNames.status, status)]
                return ByStatus(
                    attemptDuration: Timer(label: GRPCMetricNames.clientAttemptDuration, dimensions: dimensions, factory: factory),
                    callDuration: Timer(label: GRPCMetricNames.clientCallDuration, dimensions: dimensions, factory: factory),
                    sent: Recorder(label: GRPCMetricNames.clientAttemptSentSize, dimensions: dimensions, aggregate: true,
                                   factory: factory),
                    received: Recorder(label: GRPCMetricNames.clientAttemptReceivedSize, dimensions: dimensions, aggregate: true,
                                       factory: factory))
            }
        }
    }

    /// The call's metrics: what ``GRPCClient`` asks for instead of running this as an
    /// interceptor.
    public func makeCallTracer(for method: MethodDescriptor) -> any ClientCallTracer {
        ClientCallMetrics(instruments.entry(for: method))
    }

    /// For code that runs interceptors itself; ``GRPCClient`` uses ``makeCallTracer(for:)``.
    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let call = ClientCallMetrics(instruments.entry(for: context.method))
        var context = context
        context.addAttemptTracer(call)
        let response: StreamingClientResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            // Failed before a stream opened (no connection, deadline, an inner interceptor).
            call.callEnded(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
            throw error
        }
        // The closure captures the call's object alone, which costs no allocation.
        response.end.whenSet { end in call.callEnded(end.error) }
        return response
    }
}

/// One call's metrics: the tracer of its attempts, and what it records when the call ends.
private final class ClientCallMetrics: ClientCallTracer {
    /// What the call's attempts have done so far.
    struct Attempts {
        var inFlight = 0
        var retries = 0
        var hedges = 0
        /// When the last attempt in flight ended, while none is.
        var idleSince: ContinuousClock.Instant?
        /// Time with no attempt in flight, between the first attempt's start and the last's.
        var delay = Duration.zero
    }

    typealias Entry = MethodInstruments<ClientMetricsInterceptor.PerMethod, ClientMetricsInterceptor.ByStatus>.Entry

    private let method: Entry
    private let started = ContinuousClock.now
    private let attempts = Mutex(Attempts())

    init(_ method: Entry) {
        self.method = method
    }

    func attemptStarted(_ attempt: ClientAttempt) {
        method.perMethod.attemptStarted.increment()
        attempts.withLock { attempts in
            if attempts.inFlight == 0, let idleSince = attempts.idleSince {
                attempts.delay += idleSince.duration(to: attempt.started)
            }
            attempts.idleSince = nil
            attempts.inFlight += 1
            switch attempt.kind {
            case .original: break
            case .retry: attempts.retries += 1
            case .hedge: attempts.hedges += 1
            }
        }
    }

    func attemptEnded(_ attempt: ClientAttempt, _ end: ClientAttemptEnd) {
        let instruments = method.instruments(for: end.error?.code ?? .ok)
        instruments.attemptDuration.recordNanoseconds(attempt.started.duration(to: end.ended).wholeNanoseconds)
        instruments.sent.record(end.statistics.bytesSent)
        instruments.received.record(end.statistics.bytesReceived)
        attempts.withLock { attempts in
            attempts.inFlight -= 1
            if attempts.inFlight == 0 { attempts.idleSince = end.ended }
        }
    }

    func callEnded(_ end: ClientCallEnd) {
        callEnded(end.error)
    }

    func callEnded(_ error: RPCError?) {
        method.instruments(for: error?.code ?? .ok).callDuration.recordNanoseconds(started.duration(to: .now).wholeNanoseconds)
        let attempts = attempts.withLock { $0 }
        guard attempts.retries > 0 || attempts.hedges > 0 else { return }
        // A96: calls without retries (or hedges) record nothing, not zero.
        let instruments = method.perMethod
        if attempts.retries > 0 { instruments.retries.instrument.record(attempts.retries) }
        if attempts.hedges > 0 { instruments.hedges.instrument.record(attempts.hedges) }
        instruments.retryDelay.instrument.recordNanoseconds(attempts.delay.wholeNanoseconds)
    }
}
