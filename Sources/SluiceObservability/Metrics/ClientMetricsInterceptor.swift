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
    /// The channel's target, the `grpc.target` attribute.
    public let target: String
    private let instruments: InstrumentCache

    /// - Parameters:
    ///   - target: The target the client calls, as given to its channel.
    ///   - factory: The metrics backend; by default the one bootstrapped in `MetricsSystem`.
    public init(target: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.target = target
        self.instruments = InstrumentCache(factory: factory)
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        let started = ContinuousClock.now
        let method = "\(context.method.service)/\(context.method.method)"
        let base = [(GRPCMetricNames.method, method), (GRPCMetricNames.target, target)]
        instruments.counter(GRPCMetricNames.clientAttemptStarted, base).increment()
        let instruments = self.instruments
        return try await observeClientCall(request, context, next) { outcome in
            let nanoseconds = started.duration(to: .now).wholeNanoseconds
            let dimensions = base + [(GRPCMetricNames.status, "\(outcome.error?.code ?? .ok)")]
            if outcome.attempts > 1 {
                instruments.counter(GRPCMetricNames.clientAttemptStarted, base).increment(by: outcome.attempts - 1)
            } else {
                instruments.timer(GRPCMetricNames.clientAttemptDuration, dimensions).recordNanoseconds(nanoseconds)
            }
            instruments.timer(GRPCMetricNames.clientCallDuration, dimensions).recordNanoseconds(nanoseconds)
            instruments.histogram(GRPCMetricNames.clientAttemptSentSize, dimensions).record(outcome.statistics.bytesSent)
            instruments.histogram(GRPCMetricNames.clientAttemptReceivedSize, dimensions).record(outcome.statistics.bytesReceived)
        }
    }
}
