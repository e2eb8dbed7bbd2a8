import Foundation
import Sluice
import SluiceProto
import SpooledAPI

/// What the API accepts, checked before anything reaches the store: a request outside these
/// bounds is INVALID_ARGUMENT naming the field, and changes nothing.
public struct RequestLimits: Sendable {
    /// The largest payload, in bytes (the transport's message limit applies first).
    public var maxPayloadBytes = 256 * 1024
    /// The most tags a job may have.
    public var maxTags = 64
    /// The longest tag key or value, in bytes.
    public var maxTagBytes = 256
    /// The longest idempotency key, in bytes.
    public var maxIdempotencyKeyBytes = 256
    /// The highest `max_retries`.
    public var maxRetries: Int32 = 100
    /// The lease a request gets when it asks for 0 seconds.
    public var defaultLeaseSeconds: Int32 = 30
    /// The longest lease, in seconds.
    public var maxLeaseSeconds: Int32 = 3600
    /// The most jobs one Dequeue leases, and one ProcessJobs stream holds.
    public var maxBatch: Int32 = 100

    /// The defaults above.
    public init() {}

    /// 1 to 128 ASCII letters, digits, `.`, `_` or `-`: queue, tenant and worker names.
    static func isName(_ name: String) -> Bool {
        let bytes = name.utf8
        return (1...128).contains(bytes.count) && bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    func name(_ value: String, field: String) throws -> String {
        guard Self.isName(value) else {
            throw invalid(field, value.isEmpty ? "is required" : "must be 1 to 128 letters, digits, '.', '_' or '-'")
        }
        return value
    }

    func lease(_ seconds: Int32, field: String = "lease_duration_secs") throws -> Duration {
        if seconds == 0 { return .seconds(Int(defaultLeaseSeconds)) }
        guard (1...maxLeaseSeconds).contains(seconds) else {
            throw invalid(field, "must be 1 to \(maxLeaseSeconds) seconds (0 for \(defaultLeaseSeconds)), not \(seconds)")
        }
        return .seconds(Int(seconds))
    }

    func batch(_ value: Int32, field: String) throws -> Int {
        if value == 0 { return 1 }
        guard (1...maxBatch).contains(value) else { throw invalid(field, "must be 1 to \(maxBatch), not \(value)") }
        return Int(value)
    }

    /// The job named by `id` in the tenant: a decimal job id.
    func job(_ id: String, tenant: Tenant) throws -> JobRef {
        guard let number = Int64(id), number > 0 else {
            throw invalid("job_id", id.isEmpty ? "is required" : "'\(id.prefix(64))' is not a job id")
        }
        return JobRef(tenant: tenant.name, id: number)
    }

    func token(_ token: String) throws -> String {
        guard !token.isEmpty else { throw invalid("lease_token", "is required (it came with the job)") }
        guard token.utf8.count <= 64 else { throw invalid("lease_token", "is not a lease token") }
        return token
    }

    func newJob(_ request: Spooled_V1_EnqueueRequest, tenant: Tenant) throws -> NewJob {
        let queue = try tenant.queue(try name(request.queueName, field: "queue_name"))
        guard request.payload.utf8.count <= maxPayloadBytes else {
            throw invalid("payload", "is \(request.payload.utf8.count) bytes, over the limit of \(maxPayloadBytes)")
        }
        guard (0...maxRetries).contains(request.maxRetries) else {
            throw invalid("max_retries", "must be 0 to \(maxRetries), not \(request.maxRetries)")
        }
        guard request.idempotencyKey.utf8.count <= maxIdempotencyKeyBytes else {
            throw invalid("idempotency_key", "is over \(maxIdempotencyKeyBytes) bytes")
        }
        guard request.tags.count <= maxTags else { throw invalid("tags", "has \(request.tags.count) entries, over \(maxTags)") }
        if let (key, value) = request.tags.first(where: { $0.key.utf8.count > maxTagBytes || $0.value.utf8.count > maxTagBytes }) {
            throw invalid("tags[\(key.prefix(32))]", "key and value must be at most \(maxTagBytes) bytes (value is \(value.utf8.count))")
        }
        var scheduled: Date?
        if request.hasScheduledAt {
            let at = request.scheduledAt
            guard (0..<1_000_000_000).contains(at.nanos), abs(at.seconds) < 253_402_300_800 else {
                throw invalid("scheduled_at", "is not a valid timestamp")
            }
            scheduled = at.date
        }
        return NewJob(queue: queue, payload: request.payload, priority: request.priority, maxRetries: request.maxRetries,
                      idempotencyKey: request.idempotencyKey, scheduledAt: scheduled, tags: request.tags)
    }

    private func invalid(_ field: String, _ problem: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field) \(problem)")
    }
}
