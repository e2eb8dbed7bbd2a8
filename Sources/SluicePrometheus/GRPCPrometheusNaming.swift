import Prometheus
import SluiceObservability

/// Prometheus names and buckets for gRPC's instruments (gRFC A66), as OpenTelemetry's
/// Prometheus exporter writes them, so that dashboards made for grpc-go or grpc-java apply:
/// `grpc.server.call.duration` becomes `grpc_server_call_duration_seconds`,
/// `grpc.server.call.started` becomes `grpc_server_call_started_total`, the message sizes
/// gain `_bytes`, and the attribute `grpc.method` becomes the label `grpc_method`.
public enum GRPCPrometheusNaming {
    /// A66's latency buckets, in seconds.
    public static let latencyBuckets: [Duration] = [
        0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008,
        0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4,
        0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
    ].map { (seconds: Double) in Duration.nanoseconds(Int64((seconds * 1e9).rounded())) }

    /// A66's message size buckets, in bytes.
    public static let sizeBuckets: [Double] = [
        0, 1024, 2048, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
        268_435_456, 1_073_741_824, 4_294_967_296,
    ]

    /// gRFC A96's buckets for the retries (and hedges) of a call.
    public static let retryCountBuckets: [Double] = [1, 2, 3, 4, 5]

    private static let counters: Set<String> = [GRPCMetricNames.clientAttemptStarted, GRPCMetricNames.serverCallStarted]
    private static let durations: Set<String> = [
        GRPCMetricNames.clientAttemptDuration, GRPCMetricNames.clientCallDuration, GRPCMetricNames.serverCallDuration,
        GRPCMetricNames.clientCallRetryDelay,
    ]
    private static let retryCounts: Set<String> = [GRPCMetricNames.clientCallRetries, GRPCMetricNames.clientCallHedges]
    private static let sizes: Set<String> = [
        GRPCMetricNames.clientAttemptSentSize, GRPCMetricNames.clientAttemptReceivedSize,
        GRPCMetricNames.serverCallSentSize, GRPCMetricNames.serverCallReceivedSize,
    ]

    /// The Prometheus name of a swift-metrics label: gRPC's instruments get their unit or
    /// `_total`; every name and label has its dots made underscores.
    public static func prometheusName(_ label: String) -> String {
        let base = underscored(label)
        if counters.contains(label) { return base + "_total" }
        if durations.contains(label) { return base + "_seconds" }
        if sizes.contains(label) { return base + "_bytes" }
        return base
    }

    /// A metrics factory writing into `registry` with these names and buckets; bootstrap it
    /// (`MetricsSystem.bootstrap`) or pass it to the metrics interceptors.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (underscored($0.0), $0.1) })
        }
        for label in durations { factory.durationHistogramBuckets[prometheusName(label)] = latencyBuckets }
        for label in sizes { factory.valueHistogramBuckets[prometheusName(label)] = sizeBuckets }
        for label in retryCounts { factory.valueHistogramBuckets[prometheusName(label)] = retryCountBuckets }
        return factory
    }

    private static func underscored(_ name: String) -> String {
        String(name.map { $0 == "." ? "_" : $0 })
    }
}
