import Foundation
import Sluice
@testable import SluiceEtcd
import SluiceHTTP2
import SluiceTestSupport
import Testing

/// A key prefix no other test uses.
func uniquePrefix(_ name: String) -> String {
    "/sluice-tests/\(name)-\(UUID().uuidString.prefix(8))/"
}

@Suite("The etcd client against real etcd: keys, leases, watches, auth", .timeLimit(.minutes(5)))
struct EtcdClientTests {
    @Test("put, get, prefix reads, deletes and a transaction; etcdctl reads what Sluice wrote")
    func keys() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let prefix = uniquePrefix("kv")
        let first = try await client.put(prefix + "a", value: "1")
        try await client.put(prefix + "b", value: "2")
        try await client.put(prefix + "c/d", value: "3")
        #expect(try await client.get(prefix + "a").map { String(decoding: $0.value, as: UTF8.self) } == "1")
        #expect(try await client.get(prefix + "missing") == nil)
        let listed = try await client.get(prefix: prefix)
        #expect(listed.kvs.map { String(decoding: $0.key, as: UTF8.self) } == [prefix + "a", prefix + "b", prefix + "c/d"])
        #expect(listed.revision >= first + 2)
        #expect(try await etcd.etcdctl(["get", prefix + "b", "--print-value-only"]).trimmingCharacters(in: .whitespacesAndNewlines) == "2")

        // Create-if-absent, the building block of locks: the second one fails.
        func createIfAbsent(_ key: String, _ value: String) async throws -> Bool {
            var compare = Etcdserverpb_Compare()
            compare.key = Data(key.utf8)
            compare.target = .create
            compare.result = .equal
            compare.targetUnion = .createRevision(0)
            var put = Etcdserverpb_PutRequest()
            put.key = Data(key.utf8)
            put.value = Data(value.utf8)
            var operation = Etcdserverpb_RequestOp()
            operation.request = .requestPut(put)
            var txn = Etcdserverpb_TxnRequest()
            txn.compare = [compare]
            txn.success = [operation]
            return try await client.txn(txn).succeeded
        }
        #expect(try await createIfAbsent(prefix + "lock", "me"))
        #expect(try await !createIfAbsent(prefix + "lock", "you"))
        #expect(try await client.delete(prefix + "a") == 1)
        #expect(try await client.delete(prefix: prefix) == 3)
        #expect(try await client.get(prefix: prefix).kvs.isEmpty)
        await client.close()
    }

    @Test("a lease kept alive outlives its TTL several times; stopped, its key is gone within TTL + 1 s; revoked, at once")
    func leases() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let prefix = uniquePrefix("lease")
        // 2 s rather than etcd's 1 s minimum: renewals every 0.67 s hold on a machine whose
        // other work stalls this process for a few hundred milliseconds.
        let kept = try await client.keepLeaseAlive(ttl: .seconds(2))
        try await client.put(prefix + "kept", value: "x", lease: kept.id)
        try await Task.sleep(for: .seconds(5))
        #expect(kept.isAlive)
        #expect(try await client.get(prefix + "kept") != nil)
        #expect(try await client.timeToLive(ofLease: kept.id) >= 0)  // whole seconds left: 0 just before a renewal

        kept.stop()
        #expect(!kept.isAlive)
        let stoppedAt = ContinuousClock.now
        while try await client.get(prefix + "kept") != nil {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(ContinuousClock.now - stoppedAt < .seconds(3))

        let revoked = try await client.keepLeaseAlive(ttl: .seconds(30))
        try await client.put(prefix + "revoked", value: "x", lease: revoked.id)
        try await revoked.revoke()
        #expect(try await client.get(prefix + "revoked") == nil)
        #expect(try await client.timeToLive(ofLease: revoked.id) == -1)
        await client.close()
    }

    @Test("a watch sees every change in order, and one from a compacted revision says so")
    func watchOrderAndCompaction() async throws {
        let etcd = try await ThrowawayEtcd.shared()
        let client = try EtcdClient(EtcdConfiguration(endpoints: etcd.endpoints))
        let prefix = uniquePrefix("watch")
        let start = try await client.put(prefix + "seed", value: "0")
        let reader = Task {
            var seen: [(Mvccpb_Event.EventType, String, Int64)] = []
            for try await batch in client.watch(prefix, from: start + 1) {
                for event in batch.events {
                    seen.append((event.type, String(decoding: event.kv.key, as: UTF8.self), event.kv.modRevision))
                }
                if seen.count >= 200 { break }
            }
            return Array(seen.prefix(200))
        }
        var written: [Int64] = []
        for index in 0..<150 { written.append(try await client.put(prefix + "k\(index % 10)", value: "\(index)")) }
        for index in 0..<50 {
            _ = try await client.delete(prefix + "k\(index % 10)")
            written.append(try await client.put(prefix + "d\(index)", value: "x"))
        }
        let seen = try await reader.value
        let revisions = seen.map(\.2)
        #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count)
        #expect(seen.filter { $0.0 == .delete }.count == 10)  // k0...k9 existed once each
        #expect(seen.count == 200)

        // Compact past the start: a watch from before it cannot be served.
        let newest = try await client.put(prefix + "last", value: "x")
        try await client.compact(revision: newest)
        await #expect(throws: EtcdError.compacted(oldestRevision: newest)) {
            for try await _ in client.watch(prefix, from: start) {}
        }
        await client.close()
    }

    @Test("a watch survives its member's restart: it fails over, resumes, and misses or repeats nothing",
          .timeLimit(.minutes(3)))
    func watchAcrossRestart() async throws {
        let cluster = try await ThrowawayEtcd.start(members: 3)
        defer { Task { await cluster.stop() } }
        // The watcher's channel prefers member 0 (pick_first); the writer writes through the others.
        let watcher = try EtcdClient(EtcdConfiguration(endpoints: cluster.endpoints))
        let writer = try EtcdClient(EtcdConfiguration(endpoints: Array(cluster.endpoints.dropFirst())))
        let prefix = uniquePrefix("restart")
        let start = try await writer.put(prefix + "start", value: "0")
        let total = 300
        let reader = Task {
            var seen: [(revision: Int64, value: String)] = []
            for try await batch in watcher.watch(prefix + "n/", from: start + 1) {
                seen += batch.events.map { ($0.kv.modRevision, String(decoding: $0.kv.value, as: UTF8.self)) }
                if seen.last?.value == "last" { break }
            }
            return seen
        }
        // Killing a member may cost the cluster its raft leader: a write then times out while
        // the others elect one, and is tried again (a timed-out write may have applied, so the
        // history, not the list of writes, is what the watcher must match).
        func write(_ key: String, _ value: String) async throws {
            for attempt in 1...20 {
                do {
                    try await writer.put(key, value: value)
                    return
                } catch where attempt < 20 {
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        for index in 0..<total {
            if index == 100 { try await cluster.kill(member: 0) }
            if index == 200 { try await cluster.restart(member: 0) }
            try await write(prefix + "n/\(index % 7)", "\(index)")
        }
        try await write(prefix + "n/end", "last")
        let seen = try await reader.value
        // The history as etcd has it, read in one piece from a member that never stopped.
        var history: [(revision: Int64, value: String)] = []
        for try await batch in writer.watch(prefix + "n/", from: start + 1) {
            history += batch.events.map { ($0.kv.modRevision, String(decoding: $0.kv.value, as: UTF8.self)) }
            if history.last?.value == "last" { break }
        }
        #expect(history.count >= total + 1)
        #expect(seen.map(\.revision) == history.map(\.revision))
        #expect(seen.map(\.value) == history.map(\.value))
        await watcher.close()
        await writer.close()
    }

    @Test("with auth enabled (by etcdctl), the client authenticates with its user name and password")
    func auth() async throws {
        let cluster = try await ThrowawayEtcd.start()
        defer { Task { await cluster.stop() } }
        _ = try await cluster.etcdctl(["user", "add", "root:rootpw"])
        _ = try await cluster.etcdctl(["user", "add", "app:s3cret"])
        _ = try await cluster.etcdctl(["role", "add", "app"])
        _ = try await cluster.etcdctl(["role", "grant-permission", "app", "--prefix=true", "readwrite", "/app/"])
        _ = try await cluster.etcdctl(["user", "grant-role", "app", "app"])
        _ = try await cluster.etcdctl(["auth", "enable"])

        var configuration = EtcdConfiguration(endpoints: cluster.endpoints)
        configuration.username = "app"
        configuration.password = "s3cret"
        let client = try EtcdClient(configuration)
        try await client.put("/app/setting", value: "on")
        #expect(try await client.get("/app/setting") != nil)
        // Outside its role's prefix, etcd refuses: PERMISSION_DENIED.
        let denied = await #expect(throws: RPCError.self) { try await client.put("/other", value: "x") }
        #expect(denied?.code == .permissionDenied, "\(String(describing: denied))")
        #expect(try await cluster.etcdctl(["--user", "root:rootpw", "get", "/app/setting", "--print-value-only"])
            .trimmingCharacters(in: .whitespacesAndNewlines) == "on")

        configuration.password = "wrong"
        let impostor = try EtcdClient(configuration)
        let refused = await #expect(throws: RPCError.self) { _ = try await impostor.get("/app/setting") }
        #expect(refused?.code == .invalidArgument || refused?.code == .unauthenticated, "\(String(describing: refused))")
        await client.close()
        await impostor.close()
    }

    @Test("over mutual TLS the client puts and reads; without the CA, or without a client certificate, it fails UNAVAILABLE")
    func mutualTLS() async throws {
        let certificates = try await testCertificates()
        let cluster = try await ThrowawayEtcd.start(tlsCertificates: certificates)
        defer { Task { await cluster.stop() } }
        func file(_ name: String) -> String { certificates.appending(path: name).path }
        var configuration = EtcdConfiguration(endpoints: cluster.endpoints)
        configuration.tls = try PEMFiles.clientTLS(trustRoots: file("ca.pem"), certificateChain: file("client.pem"),
                                                   privateKey: file("client.key"))
        configuration.connectTimeout = .seconds(2)
        let client = try EtcdClient(configuration)
        try await client.put("/tls/setting", value: "on")
        #expect(try await client.get("/tls/setting").map { String(decoding: $0.value, as: UTF8.self) } == "on")
        // etcdctl, over the same TLS, reads what Sluice wrote.
        let read = try await cluster.etcdctl(["--cacert", file("ca.pem"), "--cert", file("client.pem"), "--key", file("client.key"),
                                              "get", "/tls/setting", "--print-value-only"])
        #expect(read.trimmingCharacters(in: .whitespacesAndNewlines) == "on")
        await client.close()

        // Not trusting the members' CA (the system's roots instead), and with no client
        // certificate: the handshake fails, and the call with it.
        for tls in [try PEMFiles.clientTLS(certificateChain: file("client.pem"), privateKey: file("client.key")),
                    try PEMFiles.clientTLS(trustRoots: file("ca.pem"))] {
            configuration.tls = tls
            let refused = try EtcdClient(configuration)
            let error = await #expect(throws: RPCError.self) { _ = try await refused.get("/tls/setting") }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            await refused.close()
        }
    }

    @Test("with nothing listening, a call fails with UNAVAILABLE within the connect timeout")
    func unreachable() async throws {
        var configuration = EtcdConfiguration(endpoints: ["127.0.0.1:1"])
        configuration.connectTimeout = .seconds(1)
        let client = try EtcdClient(configuration)
        let error = await #expect(throws: RPCError.self) { _ = try await client.get("/x") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        await client.close()
    }
}
