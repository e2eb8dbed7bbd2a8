import Foundation
import Sluice
import SluiceProto
import SpooledAPI

/// Spooled's QueueService on a ``JobStore``: enqueue, lease (one batch or a stream), complete,
/// fail, renew and count, each for the tenant of the call's API key.
public struct QueueServiceProvider: Spooled_V1_QueueService.ServiceProtocol {
    let store: any JobStore
    let tenants: TenantDirectory
    let limits: RequestLimits
    let delivery: JobDelivery

    public init(store: any JobStore, tenants: TenantDirectory, limits: RequestLimits = RequestLimits()) {
        self.store = store
        self.tenants = tenants
        self.limits = limits
        self.delivery = JobDelivery(store: store)
    }

    public func enqueue(request: Spooled_V1_EnqueueRequest, context: ServerContext) async throws -> Spooled_V1_EnqueueResponse {
        let tenant = try tenants.authenticate(context.metadata)
        let job = try limits.newJob(request, tenant: tenant)
        let outcome = try await storeCall { try await store.enqueue(job) }
        var response = Spooled_V1_EnqueueResponse()
        response.jobID = outcome.job.ref.description
        response.created = outcome.created
        return response
    }

    public func dequeue(request: Spooled_V1_DequeueRequest, context: ServerContext) async throws -> Spooled_V1_DequeueResponse {
        let tenant = try tenants.authenticate(context.metadata)
        let queue = try tenant.queue(try limits.name(request.queueName, field: "queue_name"))
        let worker = try limits.name(request.workerID, field: "worker_id")
        let limit = try limits.batch(request.limit, field: "limit")
        let lease = try limits.lease(request.leaseDurationSecs)
        var response = Spooled_V1_DequeueResponse()
        response.jobs = try await storeCall { try await store.claim(queue, worker: worker, limit: limit, lease: lease) }
            .map(Spooled_V1_Job.init)
        return response
    }

    public func streamJobs(request: Spooled_V1_StreamJobsRequest, responses: MessageWriter<Spooled_V1_Job>,
                           context: ServerContext) async throws {
        let tenant = try tenants.authenticate(context.metadata)
        let queue = try tenant.queue(try limits.name(request.queueName, field: "queue_name"))
        let worker = try limits.name(request.workerID, field: "worker_id")
        let lease = try limits.lease(request.leaseDurationSecs)
        // One job at a time: the next is leased only once the last was written, so a slow reader
        // holds one lease, not a queue's worth.
        while true {
            let jobs: [StoredJob]
            do {
                jobs = try await delivery.next(queue, worker: worker, limit: 1, lease: lease)
            } catch is CancellationError {
                return
            } catch {
                throw RPCError.from(store: error)
            }
            for job in jobs { try await responses.write(Spooled_V1_Job(job)) }
        }
    }

    public func complete(request: Spooled_V1_CompleteRequest, context: ServerContext) async throws -> Spooled_V1_CompleteResponse {
        let tenant = try tenants.authenticate(context.metadata)
        let job = try limits.job(request.jobID, tenant: tenant)
        let token = try limits.token(request.leaseToken)
        try await storeCall { try await store.complete(job, lease: token, result: request.result) }
        var response = Spooled_V1_CompleteResponse()
        response.success = true
        response.jobID = request.jobID
        return response
    }

    public func fail(request: Spooled_V1_FailRequest, context: ServerContext) async throws -> Spooled_V1_FailResponse {
        let tenant = try tenants.authenticate(context.metadata)
        let job = try limits.job(request.jobID, tenant: tenant)
        let token = try limits.token(request.leaseToken)
        let outcome = try await storeCall { try await store.fail(job, lease: token, error: String(request.error.prefix(4096))) }
        var response = Spooled_V1_FailResponse()
        response.success = true
        response.willRetry = outcome.willRetry
        response.jobID = request.jobID
        return response
    }

    public func renewLease(request: Spooled_V1_RenewLeaseRequest, context: ServerContext) async throws -> Spooled_V1_RenewLeaseResponse {
        let tenant = try tenants.authenticate(context.metadata)
        let job = try limits.job(request.jobID, tenant: tenant)
        let token = try limits.token(request.leaseToken)
        let lease = try limits.lease(request.leaseDurationSecs)
        let expiry = try await storeCall { try await store.renew(job, lease: token, for: lease) }
        var response = Spooled_V1_RenewLeaseResponse()
        response.success = true
        response.leaseExpiresAt = Google_Protobuf_Timestamp(date: expiry)
        return response
    }

    public func getQueueStats(request: Spooled_V1_GetQueueStatsRequest, context: ServerContext) async throws -> Spooled_V1_QueueStats {
        let tenant = try tenants.authenticate(context.metadata)
        let queue = try tenant.queue(try limits.name(request.queueName, field: "queue_name"))
        return Spooled_V1_QueueStats(try await storeCall { try await store.counts(queue) }, queue: queue.name)
    }
}
