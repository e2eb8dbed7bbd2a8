import SluiceProto
import SpooledAPI

extension Spooled_V1_Job {
    /// The API's view of a stored job.
    init(_ job: StoredJob) {
        self.init()
        id = job.ref.description
        queueName = job.queue.name
        payload = job.payload
        priority = job.priority
        maxRetries = job.maxRetries
        retryCount = job.retryCount
        status = Spooled_V1_JobStatus(rawValue: job.status.rawValue) ?? .unspecified
        createdAt = Google_Protobuf_Timestamp(date: job.createdAt)
        readyAt = Google_Protobuf_Timestamp(date: job.readyAt)
        tags = job.tags
        if let lease = job.lease {
            workerID = lease.worker
            leaseToken = lease.token
            leaseExpiresAt = Google_Protobuf_Timestamp(date: lease.expiresAt)
        }
        if let error = job.lastError { lastError = error }
    }
}

extension Spooled_V1_QueueStats {
    init(_ counts: QueueCounts, queue: String) {
        self.init()
        queueName = queue
        pending = counts.pending
        processing = counts.processing
        completed = counts.completed
        failed = counts.failed
        deadLetter = counts.deadLetter
    }
}
