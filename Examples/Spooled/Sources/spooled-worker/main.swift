// A Spooled worker: enqueues a batch of jobs, then processes them over the bidirectional
// ProcessJobs protocol, failing one on purpose to show retries, and prints what happened.
//   spooled-worker --port 50051 --api-key sk_test_demo --jobs 8
import ArgumentParser
import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto

@main
struct SpooledWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spooled-worker", abstract: "Runs a Spooled worker against a server.")

    @Option(help: "Server port.") var port = 50051
    @Option(name: .customLong("api-key"), help: "API key sent as x-api-key.") var apiKey = "sk_test_demo"
    @Option(help: "How many jobs to enqueue and process.") var jobs = 8

    func run() async throws {
        // Unary queue calls wait for the server and retry UNAVAILABLE, so a restarting server
        // costs the worker a delay, not an error.
        let config = try ServiceConfig(json: """
            {"methodConfig": [{"name": [{"service": "spooled.v1.QueueService"}],
              "waitForReady": true, "timeout": "10s",
              "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "2s",
                              "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
            """)
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)", defaultServiceConfig: config)
        let client = GRPCClient(transport: channel, serviceConfig: config)
        defer { Task { await client.close() } }
        let metadata: Metadata = ["x-api-key": .string(apiKey)]
        let queue = Spooled_V1_QueueService.Client(wrapping: client)
        let worker = Spooled_V1_WorkerService.Client(wrapping: client)

        // A call without the key is refused by the server's interceptor.
        do {
            _ = try await queue.getQueueStats(Spooled_V1_GetQueueStatsRequest())
        } catch let error as RPCError {
            print("without x-api-key: \(error.code) (\(error.message))")
        }

        for i in 1...jobs {
            var request = Spooled_V1_EnqueueRequest()
            request.queueName = "emails"
            request.payload = #"{"to":"user\#(i)@example.com","subject":"Hello"}"#
            request.priority = Int32(i % 3)
            request.maxRetries = 2
            request.idempotencyKey = "welcome-\(i)"
            let response = try await queue.enqueue(request, metadata: metadata, options: CallOptions(timeout: .seconds(5)))
            print("enqueued \(response.jobID) priority \(request.priority)")
        }
        var duplicate = Spooled_V1_EnqueueRequest()
        duplicate.queueName = "emails"
        duplicate.idempotencyKey = "welcome-1"
        let again = try await queue.enqueue(duplicate, metadata: metadata)
        print("re-enqueue with the same idempotency key: \(again.jobID), created: \(again.created)")

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
                    print("processing \(job.id) (priority \(job.priority)): failed on purpose")
                } else {
                    reply.complete.jobID = job.id
                    reply.complete.result = #"{"sent":true}"#
                    done += 1
                    print("processing \(job.id) (priority \(job.priority), attempt \(job.retryCount + 1)): completed")
                }
                try await call.requests.send(reply)
            case .completeAck?, .failAck?:
                acknowledged += 1
                if done == jobs { call.requests.finish() }
            case .heartbeatAck(let ack)?:
                print("heartbeat acknowledged at \(ack.serverTime.date)")
            case nil:
                break
            }
        }
        var statsRequest = Spooled_V1_GetQueueStatsRequest()
        statsRequest.queueName = "emails"
        let stats = try await queue.getQueueStats(statsRequest, metadata: metadata)
        print("queue \(stats.queueName): pending \(stats.pending), processing \(stats.processing), completed \(stats.completed), failed \(stats.failed); \(acknowledged) acknowledgements")
        guard stats.completed == Int64(jobs), stats.pending == 0 else {
            throw ValidationError("not every job completed")
        }
    }
}
