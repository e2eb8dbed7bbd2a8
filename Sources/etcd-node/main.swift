// A process for the etcd tests, which need registrations and campaigns that live in other
// processes: to SIGKILL (a crash), SIGSTOP (a pause) and run side by side.
//
//   etcd-node register --endpoints E --service S --id I --address A [--ttl SECONDS]
//       registers the instance, prints "registered", and keeps it until killed (SIGTERM
//       deregisters and exits 0).
//   etcd-node campaign --endpoints E --election N --id I --log FILE [--ttl SECONDS] [--heartbeat-ms MS]
//       campaigns in a loop. While it leads, every 5 ms it checks that it still leads and, if
//       so, appends "act ID REVISION NANOSECONDS" (CLOCK_MONOTONIC, shared by every process)
//       to FILE; SIGUSR1 makes it resign. Each leadership starts with "lead ID REVISION NS",
//       and ends with "end ID REVISION NS" when it knows it ended; "lead" lines end with the
//       leader's key.
import ArgumentParser
import Foundation
import Logging
import Sluice
import SluiceEtcd
import Synchronization

@main
struct EtcdNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etcd-node", abstract: "Registrations and campaigns on etcd, for the etcd tests.",
        subcommands: [Register.self, Campaign.self])
}

/// Nanoseconds of CLOCK_MONOTONIC: comparable across the processes of one machine.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Unblocks `signals`: a child inherits the signal mask of the thread that spawned it, and a
/// test runner's threads may block them.
func unblock(_ signals: Int32...) {
    var set = sigset_t()
    sigemptyset(&set)
    for number in signals { sigaddset(&set, number) }
    sigprocmask(SIG_UNBLOCK, &set, nil)
}

/// Set by the signal handlers, polled by the commands: an atomic store is all a handler may do.
let terminationRequested = Atomic<Bool>(false)
let resignationRequested = Atomic<Bool>(false)

/// Writes a line to standard output unbuffered, so a test waiting for it sees it at once.
func announce(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Register: AsyncParsableCommand {
    @Option var endpoints: String
    @Option var service: String
    @Option var id: String
    @Option var address: String
    @Option var ttl: Int = 2

    func run() async throws {
        let etcd = try EtcdClient(EtcdConfiguration(endpoints: endpoints.split(separator: ",").map(String.init)))
        let registry = EtcdServiceRegistry(client: etcd, leaseTTL: .seconds(ttl))
        signal(SIGTERM) { _ in terminationRequested.store(true, ordering: .relaxed) }
        unblock(SIGTERM)
        let registration = try await registry.register(ServiceInstance(service: service, id: id, address: address))
        announce("registered \(id)")
        while !terminationRequested.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(20)) }
        try await registration.deregister()
        await etcd.close()
    }
}

struct Campaign: AsyncParsableCommand {
    @Option var endpoints: String
    @Option var election: String
    @Option var id: String
    @Option var log: String
    @Option var ttl: Int = 1
    @Option(name: .customLong("heartbeat-ms")) var heartbeatMilliseconds: Int = 250

    func run() async throws {
        let etcd = try EtcdClient(EtcdConfiguration(endpoints: endpoints.split(separator: ",").map(String.init)))
        let election = EtcdElection(client: etcd, name: election, heartbeatInterval: .milliseconds(heartbeatMilliseconds),
                                    electionTimeout: .seconds(ttl))
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        guard let file = FileHandle(forWritingAtPath: log) else {
            throw ValidationError("cannot write \(log)")
        }
        file.seekToEndOfFile()
        func record(_ kind: String, _ revision: Int64, at time: UInt64 = monotonicNanoseconds(), key: String? = nil) {
            file.write(Data("\(kind) \(id) \(revision) \(time)\(key.map { " " + $0 } ?? "")\n".utf8))
        }
        signal(SIGUSR1) { _ in resignationRequested.store(true, ordering: .relaxed) }
        unblock(SIGUSR1)
        announce("campaigning \(id)")
        while true {
            let leadership: Leadership
            do {
                leadership = try await election.campaign(value: id)
            } catch {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            let revision = leadership.leader.revision
            // The flag is not cleared here: the test may see this node lead (in etcd) before
            // the Campaign response arrives, and its SIGUSR1 must not be lost. It is consumed
            // when acted upon.
            record("lead", revision, key: leadership.leader.key)
            while true {
                // The time is read before the check: an act is recorded only if the node still
                // led at that instant (a pause after the check cannot make it look later).
                let now = monotonicNanoseconds()
                guard leadership.isLeader else { break }
                record("act", revision, at: now)
                if resignationRequested.exchange(false, ordering: .relaxed) {
                    // Recorded first: once Resign reaches etcd, another node may lead.
                    record("end", revision)
                    try? await leadership.resign()
                    break
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            if !leadership.resigned { record("end", revision) }
        }
    }
}
