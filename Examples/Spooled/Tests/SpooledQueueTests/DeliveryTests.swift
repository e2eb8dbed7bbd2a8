import Foundation
import Sluice
import SluiceProto
import SpooledAPI
import SpooledQueue
import SpooledWorker
import Synchronization
import Testing

/// ProcessJobs and StreamJobs: jobs pushed as they become ready, within the worker's limits.
@Suite("Spooled delivery: ProcessJobs and StreamJobs", .timeLimit(.minutes(3)))
struct DeliveryTests {
    @Test("ProcessJobs keeps max_concurrent jobs leased, sends the next as one finishes, renews on heartbeat, and stops on drain",
          arguments: StoreKind.allCases)
    func processJobs(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        for i in 0..<6 { _ = try await queue.enqueue(enqueueRequest(priority: Int32(i)), metadata: acme) }
        let call = try await Spooled_V1_WorkerService.Client(wrapping: client).processJobs(metadata: acme, options: .defaults)
        var subscribe = Spooled_V1_WorkerMessage()
        subscribe.subscribe.queueName = "emails"
        subscribe.subscribe.workerID = "w1"
        subscribe.subscribe.maxConcurrent = 2
        try await call.requests.send(subscribe)
        var responses = call.responses.makeAsyncIterator()
        let first = try #require(try await responses.next()?.job)
        let second = try #require(try await responses.next()?.job)
        #expect([first.priority, second.priority] == [5, 4])
        // Two held: a third waits (the heartbeat's ack comes next, not a job).
        try await Task.sleep(for: .milliseconds(300))
        var heartbeat = Spooled_V1_WorkerMessage()
        heartbeat.heartbeat.workerID = "w1"
        try await call.requests.send(heartbeat)
        #expect(try await responses.next()?.heartbeatAck.renewed == 2)
        var done = Spooled_V1_WorkerMessage()
        done.complete.jobID = first.id  // no token: the stream knows it
        try await call.requests.send(done)
        var got: [Spooled_V1_ServerMessage] = []
        for _ in 0..<2 { got.append(try #require(try await responses.next())) }
        #expect(got.contains { $0.completeAck.success && $0.completeAck.jobID == first.id })
        #expect(got.contains { $0.job.priority == 3 })
        // A completion for a job this stream does not hold is refused, and the stream goes on.
        var stranger = Spooled_V1_WorkerMessage()
        stranger.complete.jobID = "999999"
        try await call.requests.send(stranger)
        let refused = try #require(try await responses.next())
        #expect(!refused.completeAck.success && refused.completeAck.error.contains("not held by this stream"))
        var drain = Spooled_V1_WorkerMessage()
        drain.drain = Spooled_V1_DrainRequest()
        try await call.requests.send(drain)
        #expect(try await responses.next()?.message == .drained(Spooled_V1_DrainAck()))
        call.requests.finish()
        #expect(try await responses.next() == nil)
        let counts = try await store.counts(emails)
        #expect(counts.completed == 1 && counts.processing == 2 && counts.pending == 3, "leases are left to expire")
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("a ProcessJobs stream that never subscribes, or completes before subscribing, ends FAILED_PRECONDITION")
    func neverSubscribes() async throws {
        let (store, _) = try await StoreKind.sqlite.open()
        let server = try await TestServer(store: store, subscribeTimeout: .seconds(1))
        let client = try server.client()
        let worker = Spooled_V1_WorkerService.Client(wrapping: client)
        let silent = try await worker.processJobs(metadata: acme, options: .defaults)
        await #expect(throws: RPCError(code: .failedPrecondition, message: "ProcessJobs must start with subscribe; none came within 1.0 seconds")) {
            for try await _ in silent.responses {}
        }
        let early = try await worker.processJobs(metadata: acme, options: .defaults)
        var done = Spooled_V1_WorkerMessage()
        done.complete.jobID = "1"
        try await early.requests.send(done)
        var responses = early.responses.makeAsyncIterator()
        #expect(try await responses.next()?.completeAck.error == "subscribe before completing or failing jobs")
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("garbage on ProcessJobs from Python grpcio ends the call INTERNAL and changes nothing")
    func garbageFromPython() async throws {
        let (store, _) = try await StoreKind.sqlite.open()
        let server = try await TestServer(store: store)
        let script = """
            import grpc, sys
            channel = grpc.insecure_channel("127.0.0.1:\(server.port)")
            call = channel.stream_stream("/spooled.v1.WorkerService/ProcessJobs",
                                         request_serializer=lambda x: x, response_deserializer=lambda x: x)
            try:
                for _ in call(iter([b"\\xff\\xff\\xff\\xff\\x0f"]), metadata=[("x-api-key", "sk_acme_all_queues")], timeout=10):
                    pass
                print("no error")
            except grpc.RpcError as e:
                print(e.code().name)
            """
        let result = try await Child(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script]).exit()
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "INTERNAL", "\(result.output)")
        #expect(try await store.counts(emails) == QueueCounts())
        await server.stop()
        await store.close()
    }

    @Test("StreamJobs pushes a job enqueued later at once, not at the next poll", arguments: StoreKind.allCases)
    func streamPushes(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store)
        let client = try server.client()
        var request = Spooled_V1_StreamJobsRequest()
        request.queueName = "emails"
        request.workerID = "streamer"
        let stream = try await Spooled_V1_QueueService.Client(wrapping: client).streamJobs(request, metadata: acme)
        try await Task.sleep(for: .milliseconds(500))
        let enqueued = ContinuousClock.now
        let id = try await Spooled_V1_QueueService.Client(wrapping: client).enqueue(enqueueRequest(), metadata: acme).message.jobID
        var jobs = stream.makeAsyncIterator()
        let job = try #require(try await jobs.next())
        #expect(job.id == id && job.workerID == "streamer" && !job.leaseToken.isEmpty)
        // JobDelivery's fallback poll is 5 s: much sooner means the enqueue's signal woke it.
        #expect(ContinuousClock.now - enqueued < .seconds(3))
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("on PostgreSQL, a job enqueued through one server reaches a worker streaming from another at once")
    func acrossServers() async throws {
        let location = try await StoreKind.postgres.freshLocation()
        let (storeA, _) = try await StoreKind.postgres.open(at: location)
        let (storeB, _) = try await StoreKind.postgres.open(at: location)
        let serverA = try await TestServer(store: storeA)
        let serverB = try await TestServer(store: storeB)
        let clientA = try serverA.client()
        let clientB = try serverB.client()
        var request = Spooled_V1_StreamJobsRequest()
        request.queueName = "emails"
        request.workerID = "on-b"
        let stream = try await Spooled_V1_QueueService.Client(wrapping: clientB).streamJobs(request, metadata: acme)
        try await Task.sleep(for: .milliseconds(500))
        let enqueued = ContinuousClock.now
        let id = try await Spooled_V1_QueueService.Client(wrapping: clientA).enqueue(enqueueRequest(), metadata: acme).message.jobID
        var jobs = stream.makeAsyncIterator()
        #expect(try await jobs.next()?.id == id)
        #expect(ContinuousClock.now - enqueued < .seconds(3), "LISTEN/NOTIFY woke server B")
        await clientA.close()
        await clientB.close()
        await serverA.stop()
        await serverB.stop()
        await storeA.close()
        await storeB.close()
    }

    @Test("the worker runs jobs concurrently and, told to stop, finishes what it holds and leaves nothing leased",
          arguments: StoreKind.allCases)
    func workerStopsGracefully(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        for _ in 0..<40 { _ = try await queue.enqueue(enqueueRequest(), metadata: acme) }
        let running = Mutex((now: 0, most: 0))
        let outcomes = Mutex<[SpooledWorker.Outcome]>([])
        var options = SpooledWorker.Options(queue: "emails", workerID: "w")
        options.concurrency = 4
        let worker = SpooledWorker(client: client, apiKey: "sk_acme_all_queues", options: options,
                                   onOutcome: { outcome in outcomes.withLock { $0.append(outcome) } }) { _ in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            defer { running.withLock { $0.now -= 1 } }
            try await Task.sleep(for: .milliseconds(100))
            return "ok"
        }
        let stop = Event()
        let working = Task { await worker.run { await stop.wait() } }
        try await waitUntil { outcomes.withLock { $0.count } >= 8 }
        stop.set()
        await working.value
        let counts = try await store.counts(emails)
        let completed = outcomes.withLock { $0.filter { if case .completed = $0 { return true } else { return false } }.count }
        #expect(counts.processing == 0, "nothing left leased: \(counts)")
        #expect(counts.completed == Int64(completed) && counts.pending == 40 - Int64(completed))
        #expect(running.withLock { $0.most } == 4)
        await client.close()
        await server.stop()
        await store.close()
    }

    @Test("a worker told to stop while its queue is empty stops at once: the drain ends the server's wait for jobs",
          arguments: StoreKind.allCases)
    func idleWorkerStops(kind: StoreKind) async throws {
        let (store, _) = try await kind.open()
        let server = try await TestServer(store: store)
        let client = try server.client()
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        _ = try await queue.enqueue(enqueueRequest(), metadata: acme)
        let outcomes = Mutex(0)
        let worker = SpooledWorker(client: client, apiKey: "sk_acme_all_queues", options: .init(queue: "emails", workerID: "w"),
                                   onOutcome: { _ in outcomes.withLock { $0 += 1 } }) { _ in "ok" }
        let stop = Event()
        let working = Task { await worker.run { await stop.wait() } }
        // The one job done, the server's dispatcher waits for the next (its fallback poll is
        // 5 s, and it used to go on waiting through a drain forever).
        try await waitUntil { outcomes.withLock { $0 } == 1 }
        try await Task.sleep(for: .milliseconds(200))
        let stopping = ContinuousClock.now
        stop.set()
        let stopped = Task {
            try await Task.sleep(for: .seconds(20))
            working.cancel()
        }
        await working.value
        stopped.cancel()
        #expect(ContinuousClock.now - stopping < .seconds(4), "the drain waited for a job to come")
        #expect(try await store.counts(emails).completed == 1)
        await client.close()
        await server.stop()
        await store.close()
    }
}

/// Waits until `condition` holds, for at most `limit`.
func waitUntil(limit: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let end = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < end else { throw ChildError("gave up waiting after \(limit)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
