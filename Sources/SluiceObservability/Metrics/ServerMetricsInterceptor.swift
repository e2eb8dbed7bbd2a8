import CoreMetrics
import Sluice

/// Records gRFC A66's server instruments through swift-metrics: calls started, call duration,
/// and the bytes of messages sent and received, by method and status (names in
/// ``GRPCMetricNames``). Message sizes are serialized sizes before compression.
///
/// Interceptors run for the methods the server serves; a call to any other method is answered
/// UNIMPLEMENTED by the router before them and is not recorded (A66 would record it with
/// method `other`).
public struct ServerMetricsInterceptor: ServerInterceptor {
    private let instruments: InstrumentCache

    /// - Parameter factory: The metrics backend; by default the one bootstrapped in
    ///   `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.instruments = InstrumentCache(factory: factory)
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let method = [(GRPCMetricNames.method, "\(context.method.service)/\(context.method.method)")]
        instruments.counter(GRPCMetricNames.serverCallStarted, method).increment()
        let instruments = self.instruments
        return try await observeServerCall(request, context, next) { error in
            let dimensions = method + [(GRPCMetricNames.status, "\(error?.code ?? .ok)")]
            let statistics = context.statistics
            instruments.timer(GRPCMetricNames.serverCallDuration, dimensions)
                .recordNanoseconds(started.duration(to: .now).wholeNanoseconds)
            instruments.histogram(GRPCMetricNames.serverCallSentSize, dimensions).record(statistics.bytesSent)
            instruments.histogram(GRPCMetricNames.serverCallReceivedSize, dimensions).record(statistics.bytesReceived)
        }
    }
}
