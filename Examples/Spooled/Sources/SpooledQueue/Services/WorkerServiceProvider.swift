import Foundation
import Sluice
import SluiceProto
import SpooledAPI
import Synchronization

/// Spooled's WorkerService: the bidirectional worker protocol.
///
/// The stream must open with `subscribe` (within ``subscribeTimeout``, else it ends
/// FAILED_PRECONDITION). The server then keeps up to `max_concurrent` jobs leased to the worker,
/// sending the next as soon as one completes or fails; each `complete` and `fail` is
/// acknowledged with the job id (and, when the store refused it, why, while the stream goes on);
/// a `heartbeat` renews the leases of every job the stream holds.
///
/// When the stream ends, cleanly or not, its leases are not released early: they simply
/// expire and the reaper requeues the jobs. A worker that stops on purpose sends `drain`
/// (answered with `drained` once the last job is sent), finishes or fails what it holds, then
/// half-closes (as `spooled-worker` does on SIGTERM), so nothing waits for an expiry.
public struct WorkerServiceProvider: Spooled_V1_WorkerService.ServiceProtocol {
    let store: any JobStore
    let tenants: TenantDirectory
    let limits: RequestLimits
    let delivery: JobDelivery
    /// How long a stream may go without subscribing.
    public var subscribeTimeout: Duration = .seconds(10)

    public init(store: any JobStore, tenants: TenantDirectory, limits: RequestLimits = RequestLimits()) {
        self.store = store
        self.tenants = tenants
        self.limits = limits
        self.delivery = JobDelivery(store: store)
    }

    public func processJobs(requests: RequestStream<Spooled_V1_WorkerMessage>,
                            responses: MessageWriter<Spooled_V1_ServerMessage>,
                            context: ServerContext) async throws {
        let tenant = try tenants.authenticate(context.metadata)
        let session = WorkerSession(tenant: tenant, provider: self)
        let reading = Task {
            defer { session.stop() }
            try await session.read(requests)
        }
        let timeout = subscribeTimeout
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            if session.timeOutUnlessSubscribed() { reading.cancel() }
        }
        defer {
            watchdog.cancel()
            reading.cancel()
        }
        async let written: Void = session.outbox.run(into: responses)
        do {
            try await withTaskCancellationHandler {
                try await reading.value
            } onCancel: {
                reading.cancel()
            }
        } catch {
            session.stop()
            try? await written
            if session.timedOut {
                throw RPCError(code: .failedPrecondition, message: "ProcessJobs must start with subscribe; none came within \(timeout)")
            }
            throw RPCError.from(store: error)
        }
        try await written
    }
}

/// One ProcessJobs stream: what it holds and the task that fills its free slots.
private final class WorkerSession: Sendable {
    private struct State {
        var subscription: Spooled_V1_SubscribeRequest?
        /// The queue subscribed to.
        var queue: QueueID?
        var lease: Duration = .seconds(30)
        /// Leased to this stream and not yet completed or failed: job id to lease token.
        var held: [Int64: String] = [:]
        /// Slots of max_concurrent not holding a job.
        var free = 0
        var dispatcher: Task<Void, Never>?
        var timedOut = false
        /// The worker sent `drain`: the dispatcher claims nothing more.
        var draining = false
    }

    let tenant: Tenant
    let provider: WorkerServiceProvider
    let outbox = SerialWriter<Spooled_V1_ServerMessage>()
    private let state = Mutex(State())
    /// Wakes the dispatcher when slots free up (it reads how many from the state).
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(tenant: Tenant, provider: WorkerServiceProvider) {
        self.tenant = tenant
        self.provider = provider
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var isSubscribed: Bool { state.withLock { $0.subscription != nil } }
    var timedOut: Bool { state.withLock { $0.timedOut } }

    /// Marks the stream timed out, unless it subscribed meanwhile; returns whether it did.
    func timeOutUnlessSubscribed() -> Bool {
        state.withLock { state in
            if state.subscription == nil { state.timedOut = true }
            return state.timedOut
        }
    }

    /// Stops dispatching and ends the outbox once what was sent is written.
    func stop() {
        let dispatcher = state.withLock { state -> Task<Void, Never>? in
            defer { state.dispatcher = nil }
            return state.dispatcher
        }
        dispatcher?.cancel()
        wake.finish()
        outbox.finish()
    }

    func read(_ requests: RequestStream<Spooled_V1_WorkerMessage>) async throws {
        for try await message in requests {
            switch message.message {
            case .subscribe(let subscribe)?:
                try subscribeStream(subscribe)
            case .complete(let complete)?:
                try await outbox.send(await self.complete(complete))
            case .fail(let fail)?:
                try await outbox.send(await self.fail(fail))
            case .heartbeat?:
                try await outbox.send(try await heartbeat())
            case .drain?:
                // No more jobs. The dispatcher is told, not cancelled: a cancellation could land
                // inside a claim the store has committed, leaving jobs leased but never sent.
                // A claim in progress is finished and sent; then `drained` says it was the last.
                let (dispatcher, queue) = state.withLock { state -> (Task<Void, Never>?, QueueID?) in
                    state.draining = true
                    return (state.dispatcher, state.queue)
                }
                wake.finish()
                // A dispatcher waiting for jobs to become ready wakes, sees the drain and
                // returns (the queue's other waiters wake too and simply look again).
                if let queue { provider.delivery.store.signal.notify(queue) }
                await dispatcher?.value
                var drained = Spooled_V1_ServerMessage()
                drained.drained = Spooled_V1_DrainAck()
                try await outbox.send(drained)
            case nil:
                throw RPCError(code: .invalidArgument,
                               message: "empty WorkerMessage: set subscribe, complete, fail, heartbeat or drain")
            }
        }
    }

    private func subscribeStream(_ subscribe: Spooled_V1_SubscribeRequest) throws {
        let limits = provider.limits
        let queue = try tenant.queue(try limits.name(subscribe.queueName, field: "subscribe.queue_name"))
        let worker = try limits.name(subscribe.workerID, field: "subscribe.worker_id")
        let lease = try limits.lease(subscribe.leaseDurationSecs, field: "subscribe.lease_duration_secs")
        let concurrent = try limits.batch(subscribe.maxConcurrent, field: "subscribe.max_concurrent")
        try state.withLock { state in
            guard state.subscription == nil else { throw RPCError(code: .failedPrecondition, message: "already subscribed") }
            state.subscription = subscribe
            state.queue = queue
            state.lease = lease
            state.free = concurrent
            state.dispatcher = Task { [self] in await dispatch(queue, worker: worker, lease: lease) }
        }
        wake.yield()
    }

    /// Fills the free slots as jobs become ready, with one claim for as many as are free.
    private func dispatch(_ queue: QueueID, worker: String, lease: Duration) async {
        for await _ in wakes {
            while !Task.isCancelled {
                let (free, draining) = state.withLock { ($0.free, $0.draining) }
                guard free > 0, !draining else { break }
                do {
                    let jobs = try await provider.delivery.next(queue, worker: worker, limit: free, lease: lease) {
                        self.state.withLock { $0.draining }
                    }
                    if jobs.isEmpty { return }  // draining
                    state.withLock { state in
                        for job in jobs { state.held[job.ref.id] = job.lease?.token }
                        state.free -= jobs.count
                    }
                    // Sent even if the stream is draining meanwhile: the jobs are leased.
                    for job in jobs {
                        var message = Spooled_V1_ServerMessage()
                        message.job = Spooled_V1_Job(job)
                        try await outbox.send(message)
                    }
                } catch {
                    // The store failed (or the stream is ending): try again in a second.
                    if Task.isCancelled || state.withLock({ $0.draining }) { return }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// The job and lease token a complete or fail names: the token it sent, else the one this
    /// stream delivered the job with.
    private func leased(_ id: String, token: String) throws -> (JobRef, String) {
        guard isSubscribed else { throw RPCError(code: .failedPrecondition, message: "subscribe before completing or failing jobs") }
        let job = try provider.limits.job(id, tenant: tenant)
        if !token.isEmpty { return (job, try provider.limits.token(token)) }
        guard let held = state.withLock({ $0.held[job.id] }) else {
            throw RPCError(code: .failedPrecondition, message: "job \(id) is not held by this stream; send its lease_token")
        }
        return (job, held)
    }

    /// Frees the slot of a job this stream held.
    private func release(_ id: String) {
        guard let number = Int64(id) else { return }
        let freed = state.withLock { state -> Bool in
            guard state.held.removeValue(forKey: number) != nil else { return false }
            state.free += 1
            return true
        }
        if freed { wake.yield() }
    }

    private func complete(_ request: Spooled_V1_CompleteRequest) async -> Spooled_V1_ServerMessage {
        var message = Spooled_V1_ServerMessage()
        message.completeAck.jobID = request.jobID
        do {
            let (job, token) = try leased(request.jobID, token: request.leaseToken)
            try await storeCall { try await provider.store.complete(job, lease: token, result: request.result) }
            message.completeAck.success = true
        } catch {
            message.completeAck.error = RPCError.from(store: error).message
        }
        release(request.jobID)
        return message
    }

    private func fail(_ request: Spooled_V1_FailRequest) async -> Spooled_V1_ServerMessage {
        var message = Spooled_V1_ServerMessage()
        message.failAck.jobID = request.jobID
        do {
            let (job, token) = try leased(request.jobID, token: request.leaseToken)
            let outcome = try await storeCall {
                try await provider.store.fail(job, lease: token, error: String(request.error.prefix(4096)))
            }
            message.failAck.success = true
            message.failAck.willRetry = outcome.willRetry
        } catch {
            message.failAck.error = RPCError.from(store: error).message
        }
        release(request.jobID)
        return message
    }

    private func heartbeat() async throws -> Spooled_V1_ServerMessage {
        let (held, lease) = state.withLock { state in
            (state.held.map { (job: JobRef(tenant: tenant.name, id: $0.key), lease: $0.value) }, state.lease)
        }
        let renewed = try await storeCall { try await provider.store.renewAll(held, for: lease) }
        var message = Spooled_V1_ServerMessage()
        message.heartbeatAck.serverTime = Google_Protobuf_Timestamp(date: Date())
        message.heartbeatAck.renewed = Int32(clamping: renewed)
        return message
    }
}
