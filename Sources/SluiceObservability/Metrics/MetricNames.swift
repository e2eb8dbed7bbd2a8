/// The instruments of gRPC's OpenTelemetry metrics (gRFC A66), by their A66 names, and the
/// attribute (dimension) names they carry.
public enum GRPCMetricNames {
    public static let clientAttemptStarted = "grpc.client.attempt.started"
    public static let clientAttemptDuration = "grpc.client.attempt.duration"
    public static let clientAttemptSentSize = "grpc.client.attempt.sent_total_compressed_message_size"
    public static let clientAttemptReceivedSize = "grpc.client.attempt.rcvd_total_compressed_message_size"
    public static let clientCallDuration = "grpc.client.call.duration"
    /// gRFC A96: retries a call made under a retry policy, recorded for calls with at least one.
    public static let clientCallRetries = "grpc.client.call.retries"
    /// Hedged attempts beyond the first, for calls under a hedging policy that sent any.
    public static let clientCallHedges = "grpc.client.call.hedges"
    /// gRFC A96: the time a retried or hedged call had no attempt in flight (its backoff).
    public static let clientCallRetryDelay = "grpc.client.call.retry_delay"
    public static let serverCallStarted = "grpc.server.call.started"
    public static let serverCallDuration = "grpc.server.call.duration"
    public static let serverCallSentSize = "grpc.server.call.sent_total_compressed_message_size"
    public static let serverCallReceivedSize = "grpc.server.call.rcvd_total_compressed_message_size"

    /// `package.Service/Method`, or `other` for a method the server does not register.
    public static let method = "grpc.method"
    /// The status code's name: `OK`, `UNAVAILABLE`, ...
    public static let status = "grpc.status"
    /// The channel's target.
    public static let target = "grpc.target"
}
