import NIOCore
import Synchronization

/// The stream handler an ``Outbox`` reaches on its event loop.
protocol OutboxDrainer: AnyObject {
    /// Write what the outbox holds.
    func drainOutbox()
    /// The call caught up with what the stream received: read on.
    func resumeReading()
}

/// Hands what a call's task writes (request messages, response parts) to its stream's event
/// loop in batches.
///
/// The task appends and goes on without hopping threads; the first item since the last drain
/// schedules one drain on the loop, which writes everything queued and flushes once. The task
/// waits only when `highWatermark` items or `byteLimit` bytes are queued, or the stream is not
/// writable, so memory stays bounded and a slow peer slows the writer (HTTP/2 flow control makes the channel
/// unwritable). Items appended before the stream exists (a client stream still being opened)
/// are written when it attaches: a unary call's request goes out with its HEADERS.
final class Outbox<Item: Sendable>: Sendable {
    private typealias Machine = OutboxStateMachine<Item, UnsafeContinuation<Void, any Error>>

    /// How the handler's drain gets scheduled on its event loop.
    ///
    /// A concrete type around the closure, because a bare closure kept in a generic `Mutex` is
    /// reabstracted on every `withLock` and written back wrapped in a new thunk: the calls nest
    /// one level deeper each time (a stream of 100,000 messages slowed to a crawl).
    private enum Scheduler {
        /// The handler's loop, where a task capturing only this outbox runs the drain: unlike
        /// a closure capturing the handler and its loop, it needs no allocation per drain.
        case loop(any EventLoop, NIOLoopBound<any OutboxDrainer>)
        /// Anything else that schedules a drain (tests).
        case custom(@Sendable () -> Void)
    }

    private let state: Mutex<Machine>
    /// Set once when the stream attaches.
    private let scheduler = Mutex<Scheduler?>(nil)
    /// An item's size in bytes, for the byte limit; nil counts items only.
    private let weigh: (@Sendable (Item) -> Int)?

    /// - Parameters:
    ///   - highWatermark: Items queued before the producer waits.
    ///   - byteLimit: Bytes queued (as `weigh` counts them) before the producer waits; the item
    ///     that crosses it is still queued, so one item larger than the limit passes alone.
    ///   - weigh: An item's size in bytes.
    init(highWatermark: Int = 16, byteLimit: Int = .max, weigh: (@Sendable (Item) -> Int)? = nil) {
        state = Mutex(Machine(highWatermark: highWatermark, byteLimit: byteLimit))
        self.weigh = weigh
    }

    // MARK: Producer side

    /// Queues `item`, waiting while the outbox is full. Throws `CancellationError` once the
    /// stream is gone or the producer has finished.
    func send(_ item: Item) async throws {
        let bytes = weigh?(item) ?? 0
        switch state.withLock({ $0.append(item, bytes: bytes) }) {
        case .fail:
            throw CancellationError()
        case .queued(let scheduleDrain, let mustWait):
            if scheduleDrain { schedule() }
            guard mustWait else { return }
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                switch state.withLock({ $0.park(continuation) }) {
                case .parked: break
                case .proceed: continuation.resume()
                case .fail: continuation.resume(throwing: CancellationError())
                }
            }
        }
    }

    /// Queues `item` without waiting; returns whether there is room for more.
    @discardableResult
    func offer(_ item: Item) -> Bool {
        let bytes = weigh?(item) ?? 0
        switch state.withLock({ $0.append(item, bytes: bytes) }) {
        case .fail:
            return false
        case .queued(let scheduleDrain, let mustWait):
            if scheduleDrain { schedule() }
            return !mustWait
        }
    }

    /// No more items after those queued.
    func finish() {
        if state.withLock({ $0.finish() }) { schedule() }
    }

    private func schedule() {
        // Set before any drain can be claimed: `attach` stores it before marking the state.
        switch scheduler.withLock({ $0 }) {
        case .loop(let eventLoop, _): eventLoop.execute { self.drainOnLoop() }
        case .custom(let scheduleDrain): scheduleDrain()
        case nil: break
        }
    }

    private func drainOnLoop() {
        guard case .loop(_, let drainer) = scheduler.withLock({ $0 }) else { return }
        drainer.value.drainOutbox()
    }

    /// Tells the handler on its loop that the call caught up with what the stream received.
    /// Here because the outbox is the call's one link to its handler's loop, and a closure
    /// capturing only the outbox costs nothing to keep.
    func resumeReadingOnLoop() {
        guard case .loop(let eventLoop, _) = scheduler.withLock({ $0 }) else { return }
        eventLoop.execute { self.resumeOnLoop() }
    }

    private func resumeOnLoop() {
        guard case .loop(_, let drainer) = scheduler.withLock({ $0 }) else { return }
        drainer.value.resumeReading()
    }

    // MARK: Event loop side

    /// The stream is ready: `scheduleDrain` will run the handler's ``take(into:)`` on its
    /// loop. Returns true when items already wait, for the caller to drain at once.
    func attach(scheduleDrain: @escaping @Sendable () -> Void) -> Bool {
        scheduler.withLock { $0 = .custom(scheduleDrain) }
        return state.withLock { $0.attach() }
    }

    /// The stream is ready: drains run `drainer`'s ``OutboxDrainer/drainOutbox()`` on
    /// `eventLoop`. Returns true when items already wait, for the caller to drain at once.
    func attach(on eventLoop: any EventLoop, drainer: any OutboxDrainer) -> Bool {
        scheduler.withLock { $0 = .loop(eventLoop, NIOLoopBound(drainer, eventLoop: eventLoop)) }
        return state.withLock { $0.attach() }
    }

    /// Takes what is queued into `spare` (pass an empty batch; it comes back holding the items)
    /// and whether the producer's end follows them.
    func take(into spare: inout InlineBatch<Item>) -> Bool {
        let drained = state.withLock { $0.take(into: &spare) }
        for producer in drained.wake { producer.resume() }
        return drained.end
    }

    /// The channel's writability changed.
    func setWritable(_ writable: Bool) {
        for producer in state.withLock({ $0.setWritable(writable) }) { producer.resume() }
    }

    /// The stream is gone: queued items are dropped and the producer's writes fail.
    func close() {
        // The scheduler holds the handler, which holds this outbox: dropping it breaks the cycle.
        scheduler.withLock { $0 = nil }
        for producer in state.withLock({ $0.close() }) { producer.resume(throwing: CancellationError()) }
    }
}
