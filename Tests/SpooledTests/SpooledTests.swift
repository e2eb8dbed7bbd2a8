import Foundation
import SeedServices
import Sluice
import SluiceProto
import SpooledQueue
import Synchronization
import Testing

/// A clock the tests move by hand, for lease expiry.
final class TestClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
}

func enqueueRequest(_ queue: String, priority: Int32 = 0, maxRetries: Int32 = 1, key: String = "") -> Spooled_V1_EnqueueRequest {
    var request = Spooled_V1_EnqueueRequest()
    request.queueName = queue
    request.payload = "{}"
    request.priority = priority
    request.maxRetries = maxRetries
    request.idempotencyKey = key
    return request
}

@Suite("Spooled job store")
struct JobStoreTests {
    @Test("higher priority first, then enqueue order; leases mark jobs processing")
    func priorityOrder() async {
        let store = JobStore()
        let low = await store.enqueue(enqueueRequest("q", priority: 1)).id
        let high = await store.enqueue(enqueueRequest("q", priority: 5)).id
        let low2 = await store.enqueue(enqueueRequest("q", priority: 1)).id
        _ = await store.enqueue(enqueueRequest("other", priority: 9))
        let leased = await store.dequeue(queue: "q", worker: "w", limit: 10, leaseSeconds: 30)
        #expect(leased.map(\.id) == [high, low, low2])
        #expect(leased.allSatisfy { $0.status == .processing && $0.workerID == "w" })
        #expect(await store.stats(queue: "q").processing == 3)
    }

    @Test("idempotency keys deduplicate enqueues")
    func idempotency() async {
        let store = JobStore()
        let first = await store.enqueue(enqueueRequest("q", key: "k"))
        let second = await store.enqueue(enqueueRequest("q", key: "k"))
        #expect(first.created && !second.created && first.id == second.id)
        #expect(await store.stats(queue: "q").pending == 1)
    }

    @Test("failures retry until max_retries, then dead-letter")
    func retries() async throws {
        let store = JobStore()
        let id = await store.enqueue(enqueueRequest("q", maxRetries: 1)).id
        _ = await store.dequeue(queue: "q", worker: "w", limit: 1, leaseSeconds: 30)
        let first = try await store.fail(jobID: id, error: "boom")
        #expect(first.willRetry && first.job.status == .pending)
        _ = await store.dequeue(queue: "q", worker: "w", limit: 1, leaseSeconds: 30)
        let second = try await store.fail(jobID: id, error: "boom")
        #expect(!second.willRetry && second.job.status == .deadLetter)
        #expect(await store.stats(queue: "q").failed == 1)
    }

    @Test("completing a job that is not leased is FAILED_PRECONDITION; an unknown one NOT_FOUND")
    func completionErrors() async {
        let store = JobStore()
        let id = await store.enqueue(enqueueRequest("q")).id
        await #expect(throws: RPCError(code: .failedPrecondition, message: "job \(id) is not being processed")) {
            _ = try await store.complete(jobID: id, result: "")
        }
        await #expect(throws: RPCError(code: .notFound, message: "job nope not found")) {
            _ = try await store.complete(jobID: "nope", result: "")
        }
    }

    @Test("an expired lease returns the job to the queue; renewing keeps it")
    func leases() async throws {
        let clock = TestClock()
        let store = JobStore(clock: { clock.read() })
        let a = await store.enqueue(enqueueRequest("q")).id
        let b = await store.enqueue(enqueueRequest("q")).id
        _ = await store.dequeue(queue: "q", worker: "w1", limit: 2, leaseSeconds: 10)
        clock.advance(8)
        _ = try await store.renewLease(jobID: b, seconds: 10)
        clock.advance(5)
        let again = await store.dequeue(queue: "q", worker: "w2", limit: 2, leaseSeconds: 10)
        #expect(again.map(\.id) == [a])
    }

    @Test("next waits for a job to be enqueued")
    func waitsForWork() async {
        let store = JobStore()
        async let job = store.next(queue: "q", worker: "w", leaseSeconds: 30)
        try? await Task.sleep(for: .milliseconds(50))
        let id = await store.enqueue(enqueueRequest("q")).id
        #expect(await job?.id == id)
    }
}

@Suite("Spooled services", .timeLimit(.minutes(1)))
struct SpooledServiceTests {
    @Test("the worker protocol processes every job, with an API key checked on each call")
    func workerProtocol() async throws {
        let store = JobStore()
        let (clientTransport, serverTransport) = InProcessTransport.makePair()
        let server = GRPCServer(transport: serverTransport,
                                services: [QueueServiceProvider(store: store), WorkerServiceProvider(store: store)],
                                interceptors: [APIKeyInterceptor(keys: ["key"])])
        let serving = Task { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        let client = GRPCClient(transport: clientTransport)
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        let metadata: Metadata = ["x-api-key": "key"]

        // The server may still be starting: retry the first call briefly.
        var refused: RPCError?
        for _ in 0..<100 {
            do {
                _ = try await queue.getQueueStats(Spooled_V1_GetQueueStatsRequest(), metadata: ["x-api-key": "wrong"])
            } catch let error as RPCError where error.code == .unavailable {
                try await Task.sleep(for: .milliseconds(10))
                continue
            } catch let error as RPCError {
                refused = error
            }
            break
        }
        #expect(refused?.code == .unauthenticated)

        for i in 0..<5 { _ = try await queue.enqueue(enqueueRequest("q", priority: Int32(i)), metadata: metadata) }
        let call = try await Spooled_V1_WorkerService.Client(wrapping: client).processJobs(metadata: metadata, options: .defaults)
        var subscribe = Spooled_V1_WorkerMessage()
        subscribe.subscribe.queueName = "q"
        subscribe.subscribe.workerID = "w"
        subscribe.subscribe.maxConcurrent = 2
        subscribe.subscribe.leaseDurationSecs = 30
        try await call.requests.send(subscribe)
        var priorities: [Int32] = []
        for try await message in call.responses {
            if case .job(let job)? = message.message {
                priorities.append(job.priority)
                var complete = Spooled_V1_WorkerMessage()
                complete.complete.jobID = job.id
                try await call.requests.send(complete)
            } else if case .completeAck? = message.message, priorities.count == 5 {
                call.requests.finish()
            }
        }
        #expect(priorities.sorted(by: >) == [4, 3, 2, 1, 0])
        #expect(priorities.first == 4)
        var statsRequest = Spooled_V1_GetQueueStatsRequest()
        statsRequest.queueName = "q"
        let stats = try await queue.getQueueStats(statsRequest, metadata: metadata)
        #expect(stats.completed == 5 && stats.pending == 0 && stats.processing == 0)
        server.beginGracefulShutdown()
        try await serving.value
    }
}
