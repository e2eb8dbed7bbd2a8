import Synchronization

/// gRFC A6's retry throttling, per client: a token bucket that failures drain and successes
/// refill, so that a struggling server is not hit by retries on top of its load.
///
/// Starts full at `maxTokens`. Each call that ends with a status its policy would retry takes
/// one token; each success adds `tokenRatio`. While the bucket holds `maxTokens / 2` or less,
/// no retry or hedge is sent.
public final class RetryThrottle: Sendable {
    private let tokens: Mutex<Double>
    public let configuration: RetryThrottling

    public init(_ configuration: RetryThrottling) {
        self.configuration = configuration
        self.tokens = Mutex(configuration.maxTokens)
    }

    /// Whether retries may go out now.
    public var allowsRetries: Bool {
        tokens.withLock { $0 > configuration.maxTokens / 2 }
    }

    /// The tokens in the bucket now.
    public var tokenCount: Double { tokens.withLock { $0 } }

    /// An attempt failed with a retryable status: take a token. Returns whether retries are
    /// still allowed afterwards.
    @discardableResult
    public func recordFailure() -> Bool {
        tokens.withLock { tokens in
            tokens = max(0, tokens - 1)
            return tokens > configuration.maxTokens / 2
        }
    }

    /// A call succeeded: give back `tokenRatio`.
    public func recordSuccess() {
        tokens.withLock { $0 = min(configuration.maxTokens, $0 + configuration.tokenRatio) }
    }
}
