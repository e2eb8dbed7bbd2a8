import Foundation
import Prometheus
import Sluice
import SluiceObservability
import SluicePrometheus

/// What the metrics' own bookkeeping costs per call, without any RPC: the work the client's
/// call tracer and the server's interceptor do for one unary call, into swift-prometheus, in a
/// loop. Tells the instruments' cost apart from the cost of the RPC around them.
func metricsCostBenchmark(calls: Int) {
    let factory = GRPCPrometheusNaming.metricsFactory(registry: PrometheusCollectorRegistry())
    let client = ClientMetricsInterceptor(target: "ipv4:127.0.0.1:50051", factory: factory)
    let method = MethodDescriptor(service: "bench.Echo", method: "Unary", kind: .unary)
    let statistics = CallStatistics(messagesSent: 1, bytesSent: 120, messagesReceived: 1, bytesReceived: 120)
    func run() -> Double {
        let start = ContinuousClock.now
        for _ in 0..<calls {
            let tracer = client.makeCallTracer(for: method)
            let attempt = ClientAttempt(number: 1, kind: .original, started: .now)
            tracer.attemptStarted(attempt)
            tracer.attemptEnded(attempt, ClientAttemptEnd(error: nil, statistics: statistics, ended: .now))
            tracer.callEnded(ClientCallEnd(error: nil))
        }
        let elapsed = start.duration(to: .now)
        return (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(calls)
    }
    _ = run()
    let nanoseconds = (0..<5).map { _ in run() }.sorted()[2]
    print(String(format: "client metrics bookkeeping: %.0f ns per unary call (median of 5 runs of %d)", nanoseconds, calls))
}
