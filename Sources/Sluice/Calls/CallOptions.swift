/// Per-call settings. Anything left nil takes the client's default.
public struct CallOptions: Sendable {
    /// How long the call may take, from when it starts; sent as `grpc-timeout`.
    public var timeout: Duration?
    /// An absolute deadline; the earlier of this and `timeout` applies.
    public var deadline: ContinuousClock.Instant?
    /// Whether a call made inside a server handler ends no later than that handler's deadline
    /// (deadline propagation, as grpc-go and grpc-java do through their contexts).
    public var inheritsServerDeadline = true
    /// Encoding for request messages; nil sends uncompressed.
    public var compression: CompressionAlgorithm?
    /// Largest response message accepted; bigger ones fail the call with RESOURCE_EXHAUSTED.
    public var maxResponseMessageBytes: Int?
    /// Largest request message sent; bigger ones fail the call with RESOURCE_EXHAUSTED.
    public var maxRequestMessageBytes: Int?
    /// Whether the call waits through CONNECTING and TRANSIENT_FAILURE, until its deadline,
    /// for a ready connection instead of failing fast with UNAVAILABLE (gRPC's wait-for-ready).
    /// nil takes the method config's `waitForReady`, else fails fast, as gRPC does.
    public var waitForReady: Bool?
    /// How messages are serialized: protobuf, or JSON as `application/grpc+json`. nil takes
    /// the client's default, else protobuf.
    public var messageFormat: MessageFormat?

    /// Options; what is left nil takes the client's default.
    ///
    /// - Parameters:
    ///   - timeout: How long the call may take.
    ///   - deadline: When the call must end.
    ///   - compression: The request messages' encoding.
    ///   - messageFormat: Protobuf or JSON.
    public init(timeout: Duration? = nil, deadline: ContinuousClock.Instant? = nil, compression: CompressionAlgorithm? = nil,
                messageFormat: MessageFormat? = nil) {
        self.timeout = timeout
        self.deadline = deadline
        self.compression = compression
        self.messageFormat = messageFormat
    }

    /// No timeout, no compression, default size limits.
    public static var defaults: CallOptions { CallOptions() }

    /// The deadline this call runs under, starting now.
    func effectiveDeadline(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        var result = deadline
        if let timeout {
            let fromTimeout = now + timeout
            result = result.map { min($0, fromTimeout) } ?? fromTimeout
        }
        if inheritsServerDeadline, let inherited = ServerContext.current?.deadline {
            result = result.map { min($0, inherited) } ?? inherited
        }
        return result
    }
}

/// Limits every gRPC implementation sets: 4 MiB received by default, nothing for sent.
public enum MessageSizeLimits {
    public static let defaultMaxReceive = 4 * 1024 * 1024
}
