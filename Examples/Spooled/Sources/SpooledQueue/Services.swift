import Foundation
import SeedServices
import Sluice
import SluiceProto

/// Spooled's QueueService on a ``JobStore``.
public struct QueueServiceProvider: Spooled_V1_QueueService.ServiceProtocol {
    let store: JobStore

    public init(store: JobStore) {
        self.store = store
    }

    public func enqueue(request: Spooled_V1_EnqueueRequest, context: ServerContext) async throws -> Spooled_V1_EnqueueResponse {
        guard !request.queueName.isEmpty else { throw RPCError(code: .invalidArgument, message: "queue_name is required") }
        let (id, created) = await store.enqueue(request)
        var response = Spooled_V1_EnqueueResponse()
        response.jobID = id
        response.created = created
        return response
    }

    public func dequeue(request: Spooled_V1_DequeueRequest, context: ServerContext) async throws -> Spooled_V1_DequeueResponse {
        var response = Spooled_V1_DequeueResponse()
        response.jobs = await store.dequeue(queue: request.queueName, worker: request.workerID,
                                            limit: Int(request.limit), leaseSeconds: Int(request.leaseDurationSecs))
        return response
    }

    public func streamJobs(request: Spooled_V1_StreamJobsRequest, responses: MessageWriter<Spooled_V1_Job>,
                           context: ServerContext) async throws {
        while let job = await store.next(queue: request.queueName, worker: request.workerID,
                                         leaseSeconds: Int(request.leaseDurationSecs)) {
            try await responses.write(job)
        }
    }

    public func complete(request: Spooled_V1_CompleteRequest, context: ServerContext) async throws -> Spooled_V1_CompleteResponse {
        _ = try await store.complete(jobID: request.jobID, result: request.result)
        var response = Spooled_V1_CompleteResponse()
        response.success = true
        return response
    }

    public func fail(request: Spooled_V1_FailRequest, context: ServerContext) async throws -> Spooled_V1_FailResponse {
        let (_, willRetry) = try await store.fail(jobID: request.jobID, error: request.error)
        var response = Spooled_V1_FailResponse()
        response.success = true
        response.willRetry = willRetry
        return response
    }

    public func renewLease(request: Spooled_V1_RenewLeaseRequest, context: ServerContext) async throws -> Spooled_V1_RenewLeaseResponse {
        let job = try await store.renewLease(jobID: request.jobID, seconds: Int(request.leaseDurationSecs))
        var response = Spooled_V1_RenewLeaseResponse()
        response.success = true
        response.leaseExpiresAt = job.leaseExpiresAt
        return response
    }

    public func getQueueStats(request: Spooled_V1_GetQueueStatsRequest, context: ServerContext) async throws -> Spooled_V1_QueueStats {
        await store.stats(queue: request.queueName)
    }
}

/// Spooled's WorkerService: the bidirectional worker protocol. After `subscribe`, the server
/// keeps up to `max_concurrent` jobs leased to the worker, acknowledges completions, failures
/// and heartbeats, and sends a new job whenever one finishes.
public struct WorkerServiceProvider: Spooled_V1_WorkerService.ServiceProtocol {
    let store: JobStore

    public init(store: JobStore) {
        self.store = store
    }

    public func processJobs(requests: RequestStream<Spooled_V1_WorkerMessage>,
                            responses: MessageWriter<Spooled_V1_ServerMessage>,
                            context: ServerContext) async throws {
        // One writer task: the dispatcher and the reader both send through it, in order.
        let (outbox, outboxContinuation) = AsyncStream.makeStream(of: Spooled_V1_ServerMessage.self)
        let (slots, slotContinuation) = AsyncStream.makeStream(of: Void.self)
        let store = self.store
        let writer = Task {
            for await message in outbox { try await responses.write(message) }
        }
        var dispatcher: Task<Void, Never>?
        defer {
            dispatcher?.cancel()
            writer.cancel()
        }
        for try await message in requests {
            switch message.message {
            case .subscribe(let subscribe)?:
                guard dispatcher == nil else { throw RPCError(code: .failedPrecondition, message: "already subscribed") }
                for _ in 0..<max(Int(subscribe.maxConcurrent), 1) { slotContinuation.yield() }
                dispatcher = Task {
                    // A slot frees when a job completes or fails.
                    for await _ in slots {
                        guard let job = await store.next(queue: subscribe.queueName, worker: subscribe.workerID,
                                                         leaseSeconds: Int(subscribe.leaseDurationSecs)) else { return }
                        var out = Spooled_V1_ServerMessage()
                        out.job = job
                        outboxContinuation.yield(out)
                    }
                }
            case .complete(let complete)?:
                _ = try await store.complete(jobID: complete.jobID, result: complete.result)
                var ack = Spooled_V1_ServerMessage()
                ack.completeAck.success = true
                outboxContinuation.yield(ack)
                slotContinuation.yield()
            case .fail(let fail)?:
                let (_, willRetry) = try await store.fail(jobID: fail.jobID, error: fail.error)
                var ack = Spooled_V1_ServerMessage()
                ack.failAck.success = true
                ack.failAck.willRetry = willRetry
                outboxContinuation.yield(ack)
                slotContinuation.yield()
            case .heartbeat?:
                var ack = Spooled_V1_ServerMessage()
                ack.heartbeatAck.serverTime = .now
                outboxContinuation.yield(ack)
            case nil:
                throw RPCError(code: .invalidArgument, message: "empty worker message")
            }
        }
        // The worker half-closed: stop dispatching, send what is queued, end the call.
        dispatcher?.cancel()
        slotContinuation.finish()
        outboxContinuation.finish()
        try await writer.value
    }
}

/// Checks `x-api-key` on every call, as Spooled's API does; UNAUTHENTICATED otherwise.
public struct APIKeyInterceptor: ServerInterceptor {
    let keys: Set<String>

    public init(keys: Set<String>) {
        self.keys = keys
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let key = request.metadata.first("x-api-key") else {
            throw RPCError(code: .unauthenticated, message: "missing x-api-key")
        }
        guard keys.contains(key) else {
            throw RPCError(code: .unauthenticated, message: "invalid API key")
        }
        return try await next(request, context)
    }
}
