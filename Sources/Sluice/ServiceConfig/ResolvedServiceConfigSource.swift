/// A transport with a service config of its own that may change while it runs: a
/// ``GRPCChannel`` whose resolver publishes configs. ``GRPCClient`` asks it on every call, so a
/// new config applies to the calls that start after it.
protocol ResolvedServiceConfigSource: Sendable {
    /// The config the resolver published last (its last valid one) with the retry token
    /// bucket for it; nil if it has published none. Before the resolver's first result this
    /// waits for it (as grpc-go's calls do), until `deadline` at most.
    func resolvedServiceConfig(waitingUntil deadline: ContinuousClock.Instant?) async
        -> (config: ServiceConfig, throttle: RetryThrottle?)?
}
