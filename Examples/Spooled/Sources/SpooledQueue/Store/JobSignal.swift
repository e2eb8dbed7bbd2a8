import Synchronization

/// Wake-ups for deliveries waiting on a queue: a job was enqueued, failed into a retry, or had
/// its lease reaped. The SQLite store notifies it in process; the PostgreSQL store also
/// notifies it from `LISTEN`, for jobs that other server processes made ready.
///
/// A delivery reads ``generation(of:)`` before it looks for jobs and waits ``wait(_:after:timeout:)``
/// with that number, so a notification between the two is not lost.
public final class JobSignal: Sendable {
    private struct State {
        var generations: [QueueID: UInt64] = [:]
        var waiters: [QueueID: [Int: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiter = 0
        /// Waiters whose timer or cancellation came before they registered.
        var released: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A number that changes whenever `queue` is notified.
    public func generation(of queue: QueueID) -> UInt64 {
        state.withLock { $0.generations[queue, default: 0] }
    }

    /// Wakes everyone waiting on `queue`.
    public func notify(_ queue: QueueID) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[queue, default: 0] &+= 1
            return state.waiters.removeValue(forKey: queue).map { Array($0.values) } ?? []
        }
        for waiter in woken { waiter.resume() }
    }

    /// Wakes everyone waiting on any queue: for when notifications may have been missed (the
    /// PostgreSQL listener reconnected).
    public func notifyAll() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for (queue, generation) in state.generations { state.generations[queue] = generation &+ 1 }
            for queue in state.waiters.keys where state.generations[queue] == nil { state.generations[queue] = 1 }
            defer { state.waiters = [:] }
            return state.waiters.values.flatMap(\.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once `queue` was notified after `seen`, after `timeout`, or when the task is
    /// cancelled, whichever comes first.
    public func wait(_ queue: QueueID, after seen: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.resume(queue, id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.released.remove(id) != nil || state.generations[queue, default: 0] != seen
                        || Task.isCancelled { return true }
                    state.waiters[queue, default: [:]][id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            resume(queue, id)
        }
        timer.cancel()
        _ = state.withLock { $0.released.remove(id) }
    }

    private func resume(_ queue: QueueID, _ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters[queue]?.removeValue(forKey: id) { return waiter }
            state.released.insert(id)
            return nil
        }
        waiter?.resume()
    }
}
