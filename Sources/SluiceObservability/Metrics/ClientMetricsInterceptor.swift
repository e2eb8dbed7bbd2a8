import CoreMetrics
import Sluice

/// Records gRFC A66's client instruments through swift-metrics: attempts started, attempt and
/// call durations, and the bytes of messages sent and received, by method, target and status
/// (names in ``GRPCMetricNames``).
///
/// It runs around the call, above retries: a call of several attempts counts them all in
/// `grpc.client.attempt.started` and reports its committed attempt's bytes; its duration goes
/// to `grpc.client.call.duration`, and to `grpc.client.attempt.duration` only when the call
/// was one attempt. Message sizes are serialized sizes before compression (equal to A66's
/// compressed sizes on calls without compression).
public struct ClientMetricsInterceptor: ClientInterceptor {
    /// A method's instruments for one status.
    struct ByStatus: Sendable {
        let attemptDuration: Timer
        let callDuration: Timer
        let sent: Recorder
        let received: Recorder
    }

    /// The channel's target, the `grpc.target` attribute.
    public let target: String
    private let instruments: MethodInstruments<ByStatus>

    /// - Parameters:
    ///   - target: The target the client calls, as given to its channel.
    ///   - factory: The metrics backend; by default the one bootstrapped in `MetricsSystem`.
    public init(target: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.target = target
        self.instruments = MethodInstruments { method in
            let base = [(GRPCMetricNames.method, method), (GRPCMetricNames.target, target)]
            return .init(started: Counter(label: GRPCMetricNames.clientAttemptStarted, dimensions: base, factory: factory)) { status in
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

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let started = ContinuousClock.now
        let method = instruments.entry(for: context.method)
        method.started.increment()
        return try await observeClientCall(request, context, next) { outcome in
            let nanoseconds = started.duration(to: .now).wholeNanoseconds
            let instruments = method.instruments(for: outcome.error?.code ?? .ok)
            if outcome.attempts > 1 {
                method.started.increment(by: outcome.attempts - 1)
            } else {
                instruments.attemptDuration.recordNanoseconds(nanoseconds)
            }
            instruments.callDuration.recordNanoseconds(nanoseconds)
            instruments.sent.record(outcome.statistics.bytesSent)
            instruments.received.record(outcome.statistics.bytesReceived)
        }
    }
}
