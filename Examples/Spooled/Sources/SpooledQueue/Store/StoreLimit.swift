import Foundation

/// A store's own limit for Spooled's work, measured without gRPC: each unit is one job's
/// enqueue, claim and completion, with the statements of ``JobSQL`` (the benchmark's
/// `spooled-load store-limit` and its pgbench script). Spooled's throughput through its API
/// is reported as a share of this.
public enum StoreLimit {
    /// A pgbench script (run with `-M extended`, so variables are bound as parameters) doing
    /// one job's enqueue, claim and completion with the statements the PostgreSQL store runs
    /// for them. One difference, which pgbench needs: the claim's rows are read through a
    /// `WITH`, so that a claim that found nothing sets the variables too.
    public static func pgbenchScript() -> String {
        func bind(_ sql: String, _ values: [String]) -> String {
            var values = values[...]
            var out = ""
            for character in sql {
                if character == "?", let value = values.popFirst() { out += value } else { out.append(character) }
            }
            precondition(values.isEmpty, "a value too many for \(sql)")
            return out.replacingOccurrences(of: "\n", with: " ")
        }
        // pgbench binds variables untyped: casts keep PostgreSQL from reading them as integer.
        let now = "(:now)::bigint"
        let insert = bind(JobSQL.insertAndNotify, ["'bench'", "'q'", "'{\"n\":1}'", "0", "3", "NULL", "'{}'", now, now])
        let claim = bind(JobSQL.claim(.postgres), ["'bench-worker'", "\(now) + 30000000", "'bench'", "'q'", now, "1"])
        let complete = bind(JobSQL.completeAndRecord, ["'{}'", now, "(:cid)::bigint", "'bench'", "(:ctoken)::text", now])
        return """
            SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint AS now \\gset
            \(insert);
            WITH claimed AS (\(claim)) SELECT coalesce(max(id), 0) AS cid, coalesce(max(lease_token), '') AS ctoken FROM claimed \\gset
            \(complete);

            """
    }

    /// Jobs per second through ``SQLiteJobStore`` itself (the same SQL, no gRPC): `tasks`
    /// loops each enqueue, claim and complete one job for `duration`.
    public static func sqlite(path: String, tasks: Int, duration: Duration) async throws -> (jobs: Int, seconds: Double) {
        let store = try await SQLiteJobStore(path: path)
        let queue = QueueID(tenant: "bench", name: "q")
        let started = ContinuousClock.now
        let end = started + duration
        let jobs = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < end {
                        _ = try await store.enqueue(NewJob(queue: queue, payload: #"{"n":1}"#))
                        for job in try await store.claim(queue, worker: "bench-\(task)", limit: 1, lease: .seconds(30)) {
                            if let lease = job.lease { try await store.complete(job.ref, lease: lease.token, result: "{}") }
                            done += 1
                        }
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        await store.close()
        return (jobs, elapsed.seconds)
    }
}
