// The demo: enqueues a batch of jobs, then drives the bidirectional ProcessJobs protocol by
// hand, failing one on purpose to show retries, and prints what happened.
//   spooled-worker demo --port 50051 --api-key sk_test_demo --jobs 8
import ArgumentParser
import Foundation
import Sluice
import SluiceHTTP2
import SluiceObservability
import SluiceProto
import SpooledAPI

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enqueue a batch of jobs and process them by hand over ProcessJobs, printing each step.")

    @OptionGroup var server: ServerOptions
    @Option(help: "How many jobs to enqueue and process.") var jobs = 8
    @Option(name: .customLong("keep-calling-for"),
            help: "After the jobs, call GetQueueStats this many seconds more, so the server can be restarted meanwhile.")
    var keepCallingFor: Double = 0

    func run() async throws {
        // Unary queue calls wait for the server and retry UNAVAILABLE, so a restarting server
        // costs the worker a delay, not an error.
        let config = try ServiceConfig(json: """
            {"methodConfig": [{"name": [{"service": "spooled.v1.QueueService"}],
              "waitForReady": true, "timeout": "10s",
              "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "2s",
                              "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let (channel, etcd) = try server.channel(serviceConfig: config)
        // Every call carries an x-trace-id (the task's CorrelationID, or a new one), which the
        // server logs: one id follows a request through every service it reaches.
        let client = GRPCClient(transport: channel, interceptors: [ClientCorrelationInterceptor()], serviceConfig: config)
        defer {
            Task {
                await client.close()
                await etcd?.close()
            }
        }
        let metadata: Metadata = ["x-api-key": .string(server.apiKey)]
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        let worker = Spooled_V1_WorkerService.Client(wrapping: client)

        // A call without the key is refused by the server's interceptor.
        do {
            _ = try await queue.getQueueStats(Spooled_V1_GetQueueStatsRequest())
        } catch let error as RPCError {
            say("without x-api-key: \(error.code) (\(error.message))")
        }

        for i in 1...jobs {
            var request = Spooled_V1_EnqueueRequest()
            request.queueName = "emails"
            request.payload = #"{"to":"user\#(i)@example.com","subject":"Hello"}"#
            request.priority = Int32(i % 3)
            request.maxRetries = 2
            request.idempotencyKey = "welcome-\(i)"
            let response = try await queue.enqueue(request, metadata: metadata, options: CallOptions(timeout: .seconds(5)))
            say("enqueued \(response.jobID) priority \(request.priority)")
        }
        var duplicate = Spooled_V1_EnqueueRequest()
        duplicate.queueName = "emails"
        duplicate.idempotencyKey = "welcome-1"
        let again = try await queue.enqueue(duplicate, metadata: metadata)
        say("re-enqueue with the same idempotency key: \(again.jobID), created: \(again.created)")

        // The worker protocol: subscribe, then complete (or fail) each job as it arrives.
        let call = try await worker.processJobs(metadata: metadata, options: .defaults)
        var subscribe = Spooled_V1_WorkerMessage()
        subscribe.subscribe.queueName = "emails"
        subscribe.subscribe.workerID = "worker-1"
        subscribe.subscribe.leaseDurationSecs = 30
        subscribe.subscribe.maxConcurrent = 2
        try await call.requests.send(subscribe)
        var heartbeat = Spooled_V1_WorkerMessage()
        heartbeat.heartbeat.workerID = "worker-1"
        try await call.requests.send(heartbeat)

        var done = 0
        var failedOnce = false
        var acknowledged = 0
        for try await message in call.responses {
            switch message.message {
            case .job(let job)?:
                var reply = Spooled_V1_WorkerMessage()
                if !failedOnce {
                    failedOnce = true
                    reply.fail.jobID = job.id
                    reply.fail.error = "smtp timeout"
                    say("processing \(job.id) (priority \(job.priority)): failed on purpose")
                } else {
                    reply.complete.jobID = job.id
                    reply.complete.result = #"{"sent":true}"#
                    done += 1
                    say("processing \(job.id) (priority \(job.priority), attempt \(job.retryCount + 1)): completed")
                }
                try await call.requests.send(reply)
            case .completeAck?, .failAck?:
                acknowledged += 1
                if done == jobs { call.requests.finish() }
            case .heartbeatAck(let ack)?:
                say("heartbeat acknowledged at \(ack.serverTime.date)")
            case .drained?, nil:
                break
            }
        }
        var statsRequest = Spooled_V1_GetQueueStatsRequest()
        statsRequest.queueName = "emails"
        let traceID = CorrelationID.make()
        let stats = try await CorrelationID.$current.withValue(traceID) {
            try await queue.getQueueStats(statsRequest, metadata: metadata)
        }
        say("GetQueueStats sent with x-trace-id \(traceID)")
        say("queue \(stats.queueName): pending \(stats.pending), processing \(stats.processing), completed \(stats.completed), failed \(stats.failed), dead-lettered \(stats.deadLetter); \(acknowledged) acknowledgements")
        guard stats.completed == Int64(jobs), stats.pending == 0 else {
            throw ValidationError("not every job completed")
        }
        if keepCallingFor > 0 {
            try await rideOutRestarts(queue, metadata: metadata, request: statsRequest, channel: channel)
        }
    }

    /// Calls GetQueueStats every 100 ms for `keepCallingFor` seconds. A server restart
    /// meanwhile shows as calls that waited (wait-for-ready) or were retried, not as errors.
    func rideOutRestarts(_ queue: Spooled_V1_QueueService.Client, metadata: Metadata,
                         request: Spooled_V1_GetQueueStatsRequest, channel: GRPCChannel) async throws {
        say("calling GetQueueStats for \(keepCallingFor) s: restart the server meanwhile")
        let end = ContinuousClock.now + .seconds(keepCallingFor)
        var calls = 0
        var slowest: Duration = .zero
        var retried = 0
        while ContinuousClock.now < end {
            let started = ContinuousClock.now
            let response = try await queue.getQueueStats(request, metadata: metadata)
            let took = ContinuousClock.now - started
            calls += 1
            if response.attempts > 1 { retried += 1 }
            if took > .milliseconds(200) {
                say("a call waited \(took.formatted(.units(allowed: [.milliseconds]))) for the server (\(response.attempts) attempt(s)); completed now: \(response.message.completed)")
            }
            slowest = max(slowest, took)
            try await Task.sleep(for: .milliseconds(100))
        }
        say("\(calls) calls, none failed; \(retried) retried; the channel is \(channel.connectivityState)")
    }
}
