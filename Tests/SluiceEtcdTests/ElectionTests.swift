import Foundation
import Sluice
@testable import SluiceEtcd
import SluiceTestSupport
import Synchronization
import Testing

@Suite("Leader election on etcd", .timeLimit(.minutes(10)))
struct ElectionTests {
    @Test("one leader at a time: the second campaigner waits, leads when the first resigns; observe and etcdctl agree")
    func campaignAndResign() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let name = "basic-\(UUID().uuidString.prefix(6))"
        let election = EtcdElection(client: client, name: name, heartbeatInterval: .milliseconds(300), electionTimeout: .seconds(2))
        #expect(try await election.leader() == nil)
        let observed = Observed<[String]>([])
        let observer = Task {
            for try await leader in election.observe() { observed.update { $0.append(leader.value) } }
        }
        defer { observer.cancel() }

        let first = try await election.campaign(value: "node-1")
        #expect(first.isLeader)
        let second = Task { try await election.campaign(value: "node-2") }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await election.leader()?.value == "node-1")
        #expect(try await etcd.etcdctl(["get", "--prefix", name + "/", "--print-value-only"]).contains("node-1"))
        try await first.resign()
        #expect(!first.isLeader)
        let leadership = try await second.value
        #expect(leadership.isLeader)
        #expect(leadership.leader.revision > first.leader.revision)
        #expect(try await election.leader()?.value == "node-2")
        try await leadership.proclaim("node-2 again")
        try await eventually { observed.value.suffix(3) == ["node-1", "node-2", "node-2 again"] }
        try await leadership.resign()
        #expect(try await election.leader() == nil)
        await client.close()
    }

    @Test("a leader cut off from etcd stops leading by its own clock, before etcd lets another lead")
    func lostLease() async throws {
        let cluster = try await ThrowawayEtcd.start()
        defer { Task { await cluster.stop() } }
        var configuration = EtcdConfiguration(endpoints: cluster.endpoints)
        configuration.connectTimeout = .seconds(1)
        let client = try EtcdClient(configuration)
        let election = EtcdElection(client: client, name: "cut-off", heartbeatInterval: .milliseconds(200), electionTimeout: .seconds(1))
        let leadership = try await election.campaign(value: "alone")
        let leadsUntil = try #require(leadership.leadsUntil)
        try await cluster.kill(member: 0)
        let killedAt = ContinuousClock.now
        await leadership.waitUntilLost()
        #expect(!leadership.isLeader)
        // Lost no later than the last renewal's deadline, and within the TTL of the kill.
        #expect(ContinuousClock.now - killedAt < .seconds(1) + .milliseconds(400))
        #expect(ContinuousClock.now >= leadsUntil || leadership.leadsUntil == nil)
        await client.close()
    }

    /// One line of an etcd-node campaign log.
    struct Record {
        let kind: String
        let node: String
        let revision: Int64
        let time: UInt64
        let key: String?
    }

    static func records(in directory: URL, nodes: [String]) throws -> [Record] {
        try nodes.flatMap { node in
            try String(contentsOf: directory.appending(path: "\(node).log"), encoding: .utf8).split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count >= 4, let revision = Int64(parts[2]), let time = UInt64(parts[3]) else { return nil }
                return Record(kind: parts[0], node: parts[1], revision: revision, time: time, key: parts.count > 4 ? parts[4] : nil)
            }
        }
    }

    @Test("3 processes, 200 forced handovers (resigns, SIGKILLs, SIGSTOPs past the TTL): never two leaders at once",
          .timeLimit(.minutes(10)))
    func handovers() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let name = "handovers-\(UUID().uuidString.prefix(6))"
        let directory = FileManager.default.temporaryDirectory.appending(path: "sluice-election-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let nodes = ["n1", "n2", "n3"]
        func launch(_ node: String) throws -> ChildProcess {
            try ChildProcess(buildDirectory.appending(path: "etcd-node").path, [
                "campaign", "--endpoints", etcd.endpoints.joined(separator: ","), "--election", name, "--id", node,
                "--log", directory.appending(path: "\(node).log").path, "--ttl", "1", "--heartbeat-ms", "200",
            ])
        }
        var processes: [String: ChildProcess] = [:]
        for node in nodes { processes[node] = try launch(node) }
        defer { for process in processes.values { process.killNow() } }
        // The independent observer: etcdctl's own election client, printing each leader's key and value.
        let observer = try ChildProcess("etcdctl", ["--endpoints", etcd.endpoints.joined(separator: ","), "elect", "-l", name],
                                        environment: ProcessInfo.processInfo.environment.merging(["ETCDCTL_API": "3"]) { $1 })
        defer { observer.killNow() }

        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let election = EtcdElection(client: client, name: name)
        func currentLeader() async throws -> ElectionLeader {
            var found: ElectionLeader?
            try await eventually(.seconds(20), "a leader (logs: \(processes.mapValues(\.output)))") {
                found = try await election.leader()
                return found != nil
            }
            return found!  // set when eventually returned
        }
        let handovers = Int(ProcessInfo.processInfo.environment["SLUICE_ELECTION_HANDOVERS"] ?? "") ?? 200
        var kinds: [String: Int] = [:]
        var resignedRevisions: [Int64] = []
        for index in 0..<handovers {
            let leader = try await currentLeader()
            let process = try #require(processes[leader.value])
            let kind = index % 5 == 0 ? "kill" : index % 5 == 1 ? "pause" : "resign"
            kinds[kind, default: 0] += 1
            switch kind {
            case "kill":
                await process.kill(SIGKILL)
            case "pause":
                kill(process.processIdentifier, SIGSTOP)
            default:
                resignedRevisions.append(leader.revision)
                kill(process.processIdentifier, SIGUSR1)
            }
            // Handed over: someone else's leadership (a later revision) is in place.
            try await eventually(.seconds(20), "handover \(index) (\(kind)) from \(leader.value)@\(leader.revision)") {
                guard let next = try await election.leader() else { return false }
                return next.revision > leader.revision
            }
            switch kind {
            case "kill":
                processes[leader.value] = try launch(leader.value)
            case "pause":
                // Past the TTL and a handover: resumed, it must find it no longer leads.
                kill(process.processIdentifier, SIGCONT)
            default:
                break
            }
        }
        // Let the last leader act a little, then stop everyone and read the logs.
        try await Task.sleep(for: .milliseconds(300))
        for process in processes.values { await process.kill(SIGKILL) }
        observer.killNow()

        let records = try Self.records(in: directory, nodes: nodes)
        var leaderships: [Int64: (node: String, first: UInt64, last: UInt64)] = [:]
        var leads: [Int64: String] = [:]
        for record in records {
            if record.kind == "lead", let key = record.key { leads[record.revision] = key }
            guard record.kind == "act" else { continue }
            if let known = leaderships[record.revision] {
                #expect(known.node == record.node, "revision \(record.revision) acted on by \(known.node) and \(record.node)")
                leaderships[record.revision] = (known.node, min(known.first, record.time), max(known.last, record.time))
            } else {
                leaderships[record.revision] = (record.node, record.time, record.time)
            }
        }
        let ordered = leaderships.sorted { $0.key < $1.key }
        // Each resigning leader knew it led (it logged the start). A killed or paused one may
        // not have: etcd may have made it leader before its Campaign answer arrived.
        let unlogged = resignedRevisions.filter { leads[$0] == nil }
        #expect(unlogged.isEmpty, "leaderships that resigned without logging their start: \(unlogged)")
        #expect(leads.count >= resignedRevisions.count, "\(leads.count) leaderships logged")
        var overlaps: [String] = []
        for (earlier, later) in zip(ordered, ordered.dropFirst()) where earlier.value.last >= later.value.first {
            overlaps.append("\(earlier.value.node)@\(earlier.key) acted until \(earlier.value.last), \(later.value.node)@\(later.key) from \(later.value.first)")
        }
        #expect(overlaps.isEmpty, "\(overlaps.prefix(5))")

        // The observer saw leaders in the order of their revisions. It may miss a leadership
        // that came and went between two of its reads, and it sees leaderships no node logged:
        // etcd may hand the election to a campaigner that is paused (its lease not yet
        // expired), which never learns it and never acts. Of the logged ones, the order holds.
        let observedKeys = observer.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name + "/") }
        let loggedKeys = leads.sorted { $0.key < $1.key }.map(\.value)
        let logged = Set(loggedKeys)
        let observedLogged = observedKeys.filter { logged.contains($0) }
        var position = loggedKeys.startIndex
        for key in observedLogged {
            guard let found = loggedKeys[position...].firstIndex(of: key) else {
                Issue.record("the observer saw \(key) out of revision order: observed \(observedKeys), logged \(loggedKeys)")
                break
            }
            position = found + 1
        }
        #expect(observedLogged.count >= handovers / 2, "the observer saw \(observedLogged.count) of the logged leaders")
        #expect(kinds == ["kill": handovers / 5, "pause": handovers / 5, "resign": handovers - 2 * (handovers / 5)])
        await client.close()
    }
}
