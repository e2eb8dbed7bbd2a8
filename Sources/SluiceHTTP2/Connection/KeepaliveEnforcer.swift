/// How a server polices client pings, as grpc-go does (its `EnforcementPolicy`).
public struct ServerKeepalive: Sendable {
    /// The shortest interval between client pings that is not a strike (grpc-go: 5 minutes).
    public var minimumPingInterval: Duration = .seconds(300)
    /// Whether pings on a connection with no calls are allowed at that interval; if not, they
    /// are allowed only every two hours.
    public var permitWithoutCalls = false
    /// Strikes tolerated before GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
    public var maxPingStrikes = 2

    public init() {}
}

/// The ping-strike rule of grpc-go's server, as a value type.
///
/// A ping is a strike when it follows the previous one too closely. Sending HEADERS or DATA
/// resets the count: grpc-go clients send bandwidth-estimation pings whenever they receive
/// data, and those must not be mistaken for abuse (grpc-swift 2.9 answers them with GOAWAY).
struct KeepaliveEnforcer {
    let policy: ServerKeepalive
    private var lastPing: ContinuousClock.Instant?
    private(set) var strikes = 0
    private var sentDataSinceLastPing = false

    /// Pings on an idle connection without permission must be two hours apart.
    static let idleMinimumInterval: Duration = .seconds(7200)

    init(policy: ServerKeepalive) {
        self.policy = policy
    }

    /// The server sent HEADERS or DATA.
    mutating func didSendData() {
        sentDataSinceLastPing = true
    }

    enum Verdict: Equatable {
        case allow
        case goAway
    }

    /// A PING (not an ACK) arrived at `now` with `activeCalls` open.
    mutating func receivedPing(at now: ContinuousClock.Instant, activeCalls: Int) -> Verdict {
        defer { lastPing = now }
        if sentDataSinceLastPing {
            sentDataSinceLastPing = false
            strikes = 0
            return .allow
        }
        let minimum = activeCalls == 0 && !policy.permitWithoutCalls
            ? Self.idleMinimumInterval : policy.minimumPingInterval
        if let lastPing, lastPing.duration(to: now) < minimum {
            strikes += 1
        }
        return strikes > policy.maxPingStrikes ? .goAway : .allow
    }
}
