import Foundation
import Logging
import Sluice
import Synchronization

/// Who leads an election, as etcd records it.
public struct ElectionLeader: Sendable, Hashable {
    /// What the leader announced (its node id, by convention).
    public var value: String
    /// The leader's key; it exists exactly as long as the leadership.
    public var key: String
    /// The key's create revision: leaderships are ordered by it, and a transaction comparing
    /// it guards work on the leadership still being held.
    public var revision: Int64
    /// The lease holding the leadership.
    public var lease: Int64
}

/// Leader election on etcd's Election service: one leader at a time per election name,
/// holding its leadership with a lease.
///
///     let election = EtcdElection(client: etcd, name: "scheduler", heartbeatInterval: .seconds(1),
///                                 electionTimeout: .seconds(5))
///     let leadership = try await election.campaign(value: nodeID)   // waits to lead
///     while leadership.isLeader { try await doLeaderWork() }
///
/// Seed 001's options map onto it: the election timeout is the lease's TTL (how long a
/// leader that stopped renewing, crashed or paused, keeps the election before the next
/// campaigner leads), the heartbeat interval how often the lease is renewed.
public struct EtcdElection: Sendable {
    public let client: EtcdClient
    /// The election's name: campaigners of the same name compete.
    public let name: String
    public let heartbeatInterval: Duration
    public let electionTimeout: Duration

    public init(client: EtcdClient, name: String, heartbeatInterval: Duration = .seconds(1), electionTimeout: Duration = .seconds(5)) {
        self.client = client
        self.name = name
        self.heartbeatInterval = heartbeatInterval
        self.electionTimeout = electionTimeout
    }

    /// Waits until this caller leads, announcing `value`.
    ///
    /// - Throws: ``EtcdError/leaseLost(id:)`` if the lease was lost while waiting (etcd away
    ///   for longer than the election timeout); the call's ``Sluice/RPCError``; cancellation.
    public func campaign(value: String) async throws -> Leadership {
        let lease = try await client.keepLeaseAlive(ttl: electionTimeout, keepAliveInterval: heartbeatInterval)
        var request = V3Electionpb_CampaignRequest()
        request.name = Data(name.utf8)
        request.lease = lease.id
        request.value = Data(value.utf8)
        let campaign = request
        let client = self.client
        do {
            let response = try await withThrowingTaskGroup(of: V3Electionpb_CampaignResponse?.self) { group in
                group.addTask {
                    try await client.call {
                        try await client.electionService.campaign(campaign, metadata: [:], options: CallOptions()).message
                    }
                }
                group.addTask {
                    await lease.waitUntilLost()
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else { throw EtcdError.leaseLost(id: lease.id) }
                return response
            }
            let leader = ElectionLeader(value: value, key: String(decoding: response.leader.key, as: UTF8.self),
                                        revision: response.leader.rev, lease: lease.id)
            return Leadership(election: self, leader: leader, leaderKey: response.leader, lease: lease)
        } catch {
            // Not leading: the lease has no use left (and revoking it withdraws the campaign).
            await Task { try? await lease.revoke() }.value
            throw error
        }
    }

    /// The current leader, or nil if nobody leads.
    public func leader() async throws -> ElectionLeader? {
        var request = V3Electionpb_LeaderRequest()
        request.name = Data(name.utf8)
        do {
            let response = try await client.call {
                try await client.electionService.leader(request, metadata: [:], options: client.requestOptions).message
            }
            return Self.leader(from: response.kv)
        } catch let error as RPCError where error.message.contains("election: no leader") {
            return nil  // etcd 3.4 says so with UNKNOWN (later versions with NOT_FOUND)
        }
    }

    /// Each leader in turn, starting with the current one (if any); reconnects when the
    /// stream breaks, and then yields the leader of that moment (which may be the last one
    /// yielded again).
    public func observe() -> AsyncThrowingStream<ElectionLeader, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ElectionLeader, any Error>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let election = self
        let observing = Task {
            var delay = RetryDelay(minimum: election.client.configuration.minimumRetryDelay,
                                   maximum: election.client.configuration.maximumRetryDelay)
            var request = V3Electionpb_LeaderRequest()
            request.name = Data(election.name.utf8)
            while !Task.isCancelled {
                do {
                    let responses = try await election.client.electionService.observe(request, metadata: [:], options: CallOptions())
                    for try await response in responses {
                        delay.reset()
                        if let leader = Self.leader(from: response.kv) { continuation.yield(leader) }
                    }
                } catch {
                    if Task.isCancelled { break }
                    election.client.logger?.debug("etcd election observe stream failed; reconnecting",
                                                  metadata: ["election": "\(election.name)", "error": "\(error)"])
                }
                try? await Task.sleep(for: delay.next())
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in observing.cancel() }
        return stream
    }

    static func leader(from kv: Mvccpb_KeyValue) -> ElectionLeader? {
        guard !kv.key.isEmpty else { return nil }
        return ElectionLeader(value: String(decoding: kv.value, as: UTF8.self), key: String(decoding: kv.key, as: UTF8.self),
                              revision: kv.createRevision, lease: kv.lease)
    }
}

/// This node's leadership of an election, from ``EtcdElection/campaign(value:)``.
///
/// It lasts while its lease is certainly alive (``LeaseKeeper``): ``isLeader`` turns false,
/// and ``waitUntilLost()`` returns, no later than the instant etcd could let another
/// campaigner lead, however the network or a pause of this process delays renewals. Check
/// ``isLeader`` before each piece of leader-only work; for work in etcd itself, guard a
/// transaction on ``leader``'s revision.
public final class Leadership: Sendable {
    public let election: EtcdElection
    /// The leadership as etcd records it.
    public let leader: ElectionLeader
    let leaderKey: V3Electionpb_LeaderKey
    let lease: LeaseKeeper

    init(election: EtcdElection, leader: ElectionLeader, leaderKey: V3Electionpb_LeaderKey, lease: LeaseKeeper) {
        self.election = election
        self.leader = leader
        self.leaderKey = leaderKey
        self.lease = lease
    }

    /// Whether this node certainly still leads.
    public var isLeader: Bool { lease.isAlive }

    /// Until when this node certainly leads, unless it resigns first; nil once it does not.
    public var leadsUntil: ContinuousClock.Instant? { lease.expiresBy }

    /// Returns when the leadership has ended (lost, or resigned).
    public func waitUntilLost() async {
        await lease.waitUntilLost()
    }

    private let resignation = Mutex(false)

    /// Whether ``resign()`` was called.
    public var resigned: Bool { resignation.withLock { $0 } }

    /// Steps down: this node stops leading at once, and the next campaigner leads.
    public func resign() async throws {
        resignation.withLock { $0 = true }
        lease.stop()
        var request = V3Electionpb_ResignRequest()
        request.leader = leaderKey
        let client = election.client
        _ = try await client.call { try await client.electionService.resign(request, metadata: [:], options: client.requestOptions) }
        try await client.revokeLease(lease.id)
    }

    /// Replaces what the leader announced.
    public func proclaim(_ value: String) async throws {
        guard isLeader else { throw EtcdError.leaseLost(id: lease.id) }
        var request = V3Electionpb_ProclaimRequest()
        request.leader = leaderKey
        request.value = Data(value.utf8)
        let client = election.client
        _ = try await client.call { try await client.electionService.proclaim(request, metadata: [:], options: client.requestOptions) }
    }
}
