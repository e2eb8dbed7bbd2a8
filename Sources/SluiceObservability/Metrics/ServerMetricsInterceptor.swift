import CoreMetrics
import Sluice

/// Records gRFC A66's server instruments through swift-metrics: calls started, call duration,
/// and the bytes of messages sent and received, by method and status (names in
/// ``GRPCMetricNames``). Message sizes are serialized sizes before compression.
///
/// A call to a method the server does not serve is recorded under the method `other`, as A66
/// says, so that a client probing random paths cannot grow a label per path.
public struct ServerMetricsInterceptor: ServerInterceptor, UnimplementedCallObserver {
    /// A method's instruments for one status.
    struct ByStatus: Sendable {
        let duration: Timer
        let sent: Recorder
        let received: Recorder
    }

    private let instruments: MethodInstruments<Counter, ByStatus>

    /// - Parameter factory: The metrics backend; by default the one bootstrapped in
    ///   `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.instruments = MethodInstruments { method in
            let base = [(GRPCMetricNames.method, method)]
            return .init(Counter(label: GRPCMetricNames.serverCallStarted, dimensions: base, factory: factory)) { status in
                let dimensions = base + [(GRPCMetricNames.status, status)]
                return ByStatus(
                    duration: Timer(label: GRPCMetricNames.serverCallDuration, dimensions: dimensions, factory: factory),
                    sent: Recorder(label: GRPCMetricNames.serverCallSentSize, dimensions: dimensions, aggregate: true, factory: factory),
                    received: Recorder(label: GRPCMetricNames.serverCallReceivedSize, dimensions: dimensions, aggregate: true,
                                       factory: factory))
            }
        }
    }

    /// Records a call the server answered UNIMPLEMENTED, under the method `other`.
    public func observeUnimplementedCall(_ method: MethodDescriptor, peer: String?) {
        let other = instruments.entry(label: "other")
        other.perMethod.increment()
        let recorded = other.instruments(for: .unimplemented)
        recorded.duration.recordNanoseconds(0)
        recorded.sent.record(0)
        recorded.received.record(0)
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let method = instruments.entry(for: context.method)
        method.perMethod.increment()
        return try await observeServerCall(request, context, next) { error in
            let instruments = method.instruments(for: error?.code ?? .ok)
            let statistics = context.statistics
            instruments.duration.recordNanoseconds(started.duration(to: .now).wholeNanoseconds)
            instruments.sent.record(statistics.bytesSent)
            instruments.received.record(statistics.bytesReceived)
        }
    }
}
