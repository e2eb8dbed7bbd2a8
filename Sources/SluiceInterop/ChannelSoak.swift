import Sluice

/// The `rpc_soak` and `channel_soak` cases of gRPC's interop test descriptions: many
/// `large_unary` calls in sequence, on one channel (`rpc_soak`) or each on a new channel
/// (`channel_soak`), counting an iteration as failed when its call fails or takes longer than
/// the acceptable latency.
public enum ChannelSoak {
    /// Which of the two cases.
    public enum Kind: String, CaseIterable, Sendable {
        case rpcSoak = "rpc_soak"
        case channelSoak = "channel_soak"
    }

    /// What a soak run saw.
    public struct Outcome: Sendable, CustomStringConvertible {
        public var iterations = 0
        public var failures = 0
        public var slowest: Duration = .zero
        public var timedOut = false

        public var description: String {
            "\(iterations) iterations, \(failures) failed, slowest \(slowest)\(timedOut ? ", stopped by the overall timeout" : "")"
        }
    }

    /// Runs the soak; throws when more than `maxFailures` iterations failed.
    ///
    /// - Parameters:
    ///   - makeClient: A client for an iteration: the same one every time for `rpc_soak`, a
    ///     new channel's for `channel_soak` (closed after its call by `close`).
    public static func run(_ kind: Kind, iterations: Int, maxFailures: Int, maxLatency: Duration, overallTimeout: Duration,
                           makeClient: () throws -> GRPCClient, close: (GRPCClient) async -> Void) async throws -> Outcome {
        var outcome = Outcome()
        let deadline = ContinuousClock.now + overallTimeout
        let shared = kind == .rpcSoak ? try makeClient() : nil
        for _ in 0..<iterations {
            if ContinuousClock.now >= deadline {
                outcome.timedOut = true
                break
            }
            let client = try shared ?? makeClient()
            let started = ContinuousClock.now
            var failed = false
            do {
                try await InteropClient(client: client).run(.largeUnary)
            } catch {
                failed = true
            }
            let took = ContinuousClock.now - started
            if took > maxLatency { failed = true }
            outcome.slowest = max(outcome.slowest, took)
            outcome.iterations += 1
            if failed { outcome.failures += 1 }
            if shared == nil { await close(client) }
        }
        if let shared { await close(shared) }
        if outcome.failures > maxFailures || outcome.timedOut {
            throw SoakFailure(description: "\(kind.rawValue): \(outcome) (at most \(maxFailures) failures allowed)")
        }
        return outcome
    }

    struct SoakFailure: Error, CustomStringConvertible {
        let description: String
    }
}
