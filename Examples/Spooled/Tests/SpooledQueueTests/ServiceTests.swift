import Foundation
import Sluice
import SluiceProto
import SpooledAPI
import SpooledQueue
import Testing

/// Calls to the two services over HTTP/2 on loopback, on each store.
@Suite("Spooled's gRPC API: keys, tenants, limits and bad input", .timeLimit(.minutes(3)))
struct ServiceTests {
    @Test("a missing or wrong key is UNAUTHENTICATED, a queue the key lacks PERMISSION_DENIED, a key over its limit RESOURCE_EXHAUSTED with a retry delay",
          arguments: StoreKind.allCases)
    func keys(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        await #expect(throws: RPCError(code: .unauthenticated, message: "missing x-api-key")) {
            _ = try await queue.enqueue(enqueueRequest())
        }
        await #expect(throws: RPCError(code: .unauthenticated, message: "invalid API key")) {
            _ = try await queue.enqueue(enqueueRequest(), metadata: key("sk_acme_all_queuesX"))
        }
        await #expect(throws: RPCError(code: .permissionDenied, message: "this API key has no access to queue 'emails'")) {
            _ = try await queue.enqueue(enqueueRequest("emails"), metadata: key("sk_acme_sms_only"))
        }
        // The same tenant's other key reaches its sms queue; globex's "sms" is another queue.
        _ = try await queue.enqueue(enqueueRequest("sms"), metadata: key("sk_acme_sms_only"))
        var stats = Spooled_V1_GetQueueStatsRequest()
        stats.queueName = "sms"
        #expect(try await queue.getQueueStats(stats, metadata: acme).message.pending == 1)
        // globex: a burst of 3 calls, then one every 10 s.
        for _ in 0..<3 { #expect(try await queue.getQueueStats(stats, metadata: key("sk_globex_limited")).message.pending == 0) }
        do {
            _ = try await queue.getQueueStats(stats, metadata: key("sk_globex_limited"))
            Issue.record("the fourth call was not limited")
        } catch let error as RPCError {
            #expect(error.code == .resourceExhausted)
            let delay = try #require(error.detail(Google_Rpc_RetryInfo.self)).retryDelay
            #expect((0...10).contains(delay.seconds))
            let pushback = try #require(error.metadata.first("grpc-retry-pushback-ms").flatMap { Int($0) })
            #expect((1...10_000).contains(pushback))
            #expect(error.message.contains("rate limit of 0.1 calls/s (burst 3) exceeded"))
        }
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("bad input is INVALID_ARGUMENT naming the field (or NOT_FOUND, RESOURCE_EXHAUSTED) and changes nothing",
          arguments: StoreKind.allCases)
    func badInput(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store, maxMessageBytes: 512 * 1024)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        func code(_ call: () async throws -> Void) async -> (StatusCode, String)? {
            do {
                try await call()
                return nil
            } catch let error as RPCError {
                return (error.code, error.message)
            } catch {
                return (.unknown, "\(error)")
            }
        }
        let big = String(repeating: "x", count: 300 * 1024)
        let huge = String(repeating: "x", count: 600 * 1024)
        var tooManyTags = enqueueRequest()
        for i in 0..<65 { tooManyTags.tags["t\(i)"] = "v" }
        var farFuture = enqueueRequest()
        farFuture.scheduledAt = Google_Protobuf_Timestamp(seconds: 0, nanos: -5)
        let cases: [(String, StatusCode, String, () async throws -> Void)] = [
            ("oversize payload", .invalidArgument, "payload is 307200 bytes, over the limit of 262144",
             { _ = try await queue.enqueue(enqueueRequest(payload: big), metadata: acme) }),
            ("over the transport's message limit", .resourceExhausted, "request message of 614414 bytes exceeds the 524288-byte limit",
             { _ = try await queue.enqueue(enqueueRequest(payload: huge), metadata: acme) }),
            ("empty queue name", .invalidArgument, "queue_name is required",
             { _ = try await queue.enqueue(enqueueRequest(""), metadata: acme) }),
            ("queue name with a slash", .invalidArgument, "queue_name must be",
             { _ = try await queue.enqueue(enqueueRequest("a/b"), metadata: acme) }),
            ("negative max_retries", .invalidArgument, "max_retries must be 0 to 100, not -1",
             { _ = try await queue.enqueue(enqueueRequest(maxRetries: -1), metadata: acme) }),
            ("65 tags", .invalidArgument, "tags has 65 entries",
             { _ = try await queue.enqueue(tooManyTags, metadata: acme) }),
            ("a timestamp with negative nanos", .invalidArgument, "scheduled_at is not a valid timestamp",
             { _ = try await queue.enqueue(farFuture, metadata: acme) }),
            ("negative lease", .invalidArgument, "lease_duration_secs must be 1 to 3600",
             { _ = try await queue.dequeue(dequeue(lease: -5), metadata: acme) }),
            ("a lease of a day", .invalidArgument, "lease_duration_secs must be 1 to 3600",
             { _ = try await queue.dequeue(dequeue(lease: 86_400), metadata: acme) }),
            ("a limit of a million", .invalidArgument, "limit must be 1 to 100, not 1000000",
             { _ = try await queue.dequeue(dequeue(limit: 1_000_000), metadata: acme) }),
            ("a negative limit", .invalidArgument, "limit must be 1 to 100, not -3",
             { _ = try await queue.dequeue(dequeue(limit: -3), metadata: acme) }),
            ("no worker id", .invalidArgument, "worker_id is required",
             { var request = dequeue(); request.workerID = ""; _ = try await queue.dequeue(request, metadata: acme) }),
            ("an unknown job id", .notFound, "job 424242 not found",
             { _ = try await queue.complete(complete("424242", token: "abc"), metadata: acme) }),
            ("a job id that is not one", .invalidArgument, "job_id 'job_x' is not a job id",
             { _ = try await queue.complete(complete("job_x", token: "abc"), metadata: acme) }),
            ("no lease token", .invalidArgument, "lease_token is required",
             { _ = try await queue.complete(complete("1", token: ""), metadata: acme) }),
        ]
        for (name, expected, message, call) in cases {
            let got = await code(call)
            #expect(got?.0 == expected, "\(name): \(String(describing: got))")
            #expect(got?.1.contains(message) == true, "\(name): \(String(describing: got))")
        }
        // Nothing reached the store.
        #expect(try await store.counts(QueueID(tenant: "acme", name: "emails")) == QueueCounts())
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("a late worker cannot complete a job whose lease moved on: FAILED_PRECONDITION", arguments: StoreKind.allCases)
    func lateWorker(kind: StoreKind) async throws {
        let clock = TestClock()
        let (store, _) = try await kind.open(clock: clock)
        let server = try await TestServer(store: store)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        let id = try await queue.enqueue(enqueueRequest(), metadata: acme).message.jobID
        let first = try #require(try await queue.dequeue(dequeue(lease: 5), metadata: acme).message.jobs.first)
        clock.advance(6)
        _ = try await store.reapExpiredLeases()
        let second = try #require(try await queue.dequeue(dequeue(worker: "w2", lease: 5), metadata: acme).message.jobs.first)
        #expect(first.id == id && second.id == id && first.leaseToken != second.leaseToken && second.retryCount == 1)
        await #expect(throws: RPCError(code: .failedPrecondition, message: "job \(id) is not leased under this token (it is processing)")) {
            _ = try await queue.complete(complete(id, token: first.leaseToken), metadata: acme)
        }
        var renew = Spooled_V1_RenewLeaseRequest()
        renew.jobID = id
        renew.leaseToken = second.leaseToken
        renew.leaseDurationSecs = 60
        let renewed = try await queue.renewLease(renew, metadata: acme).message
        #expect(renewed.leaseExpiresAt.date == clock.read().addingTimeInterval(60))
        #expect(try await queue.complete(complete(id, token: second.leaseToken), metadata: acme).message.success)
        // Another tenant cannot see it.
        await #expect(throws: RPCError(code: .notFound, message: "job \(id) not found")) {
            _ = try await queue.complete(complete(id, token: second.leaseToken), metadata: key("sk_globex_limited"))
        }
        await client.close()
        await server.stop()
        await store.close()
    }
}

func dequeue(worker: String = "w1", limit: Int32 = 1, lease: Int32 = 30) -> Spooled_V1_DequeueRequest {
    var request = Spooled_V1_DequeueRequest()
    request.queueName = "emails"
    request.workerID = worker
    request.limit = limit
    request.leaseDurationSecs = lease
    return request
}

func complete(_ id: String, token: String) -> Spooled_V1_CompleteRequest {
    var request = Spooled_V1_CompleteRequest()
    request.jobID = id
    request.leaseToken = token
    request.result = "done"
    return request
}
