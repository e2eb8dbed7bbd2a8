/// The state of an ``Outbox``: what a call's task has handed over and its stream's event loop
/// has not yet written.
///
/// A plain value type: every method says what the caller must do (schedule a drain on the
/// loop, resume the waiting producer), so the outbox acts outside its lock and the machine is
/// tested state by state.
struct OutboxStateMachine<Item, Waiter> {
    /// Items queued before the producer waits for the loop to drain them.
    let highWatermark: Int
    /// Bytes queued before the producer waits: a count alone lets a call with large messages
    /// queue megabytes per stream.
    let byteLimit: Int
    private(set) var items = InlineBatch<Item>()
    /// The bytes the queued items hold, as the producer reported them.
    private(set) var queuedBytes = 0
    /// The producer has finished: no more items after those queued.
    private(set) var finished = false
    /// The stream is gone: items are dropped and the producer fails.
    private(set) var closed = false
    /// The loop has a drain scheduled that has not run yet.
    private var drainScheduled = false
    /// The stream exists and drains; before that (a client stream being opened) items wait.
    private var attached = false
    /// The channel accepts writes without buffering past its high watermark.
    private(set) var writable = true
    /// Producers waiting for room: usually one, but a writer may be shared by several tasks.
    private var waiters = InlineBatch<Waiter>()

    init(highWatermark: Int, byteLimit: Int = .max) {
        precondition(highWatermark > 0 && byteLimit > 0)
        self.highWatermark = highWatermark
        self.byteLimit = byteLimit
    }

    private var hasRoom: Bool { items.count < highWatermark && queuedBytes < byteLimit && writable }

    // MARK: Producer side

    enum AppendAction: Equatable {
        /// The stream is gone.
        case fail
        /// Queued. `scheduleDrain`: the caller schedules the loop's drain. `mustWait`: the
        /// producer waits (``park(_:)``) before sending more.
        case queued(scheduleDrain: Bool, mustWait: Bool)
    }

    /// Queues `item`, which holds `bytes` bytes.
    mutating func append(_ item: Item, bytes: Int = 0) -> AppendAction {
        guard !closed, !finished else { return .fail }
        items.append(item)
        queuedBytes += bytes
        return .queued(scheduleDrain: claimDrain(), mustWait: !hasRoom)
    }

    /// No more items; true when the caller must schedule a drain to write the end.
    mutating func finish() -> Bool {
        guard !closed, !finished else { return false }
        finished = true
        return claimDrain()
    }

    enum ParkAction: Equatable {
        case parked
        /// Room appeared meanwhile: go on without waiting.
        case proceed
        case fail
    }

    /// Parks the producer until there is room.
    mutating func park(_ waiter: Waiter) -> ParkAction {
        if closed { return .fail }
        if hasRoom { return .proceed }
        waiters.append(waiter)
        return .parked
    }

    private mutating func claimDrain() -> Bool {
        guard attached, !drainScheduled else { return false }
        drainScheduled = true
        return true
    }

    // MARK: Event loop side

    /// The stream is ready to write; true when items (or the end) already wait to be drained.
    mutating func attach() -> Bool {
        attached = true
        return !items.isEmpty || finished
    }

    struct Drained {
        /// Whether the end follows the items taken; reported once.
        var end: Bool
        /// The producers to resume, now there is room.
        var wake: InlineBatch<Waiter>
    }

    private var endTaken = false

    /// Takes the queued items by swapping them with `spare` (an empty batch the caller keeps,
    /// so the buffers are reused rather than reallocated).
    mutating func take(into spare: inout InlineBatch<Item>) -> Drained {
        drainScheduled = false
        swap(&items, &spare)
        queuedBytes = 0
        var end = false
        if finished && !endTaken {
            endTaken = true
            end = true
        }
        return Drained(end: end, wake: takeWaitersIfRoom())
    }

    /// The channel's writability changed; returns the producers to resume.
    mutating func setWritable(_ writable: Bool) -> InlineBatch<Waiter> {
        self.writable = writable
        return takeWaitersIfRoom()
    }

    /// Every waiting producer goes on once there is room: each queued its item before waiting,
    /// so at most one item per producer goes past the watermark.
    private mutating func takeWaitersIfRoom() -> InlineBatch<Waiter> {
        guard hasRoom, !waiters.isEmpty else { return InlineBatch() }
        defer { waiters = InlineBatch() }
        return waiters
    }

    /// The stream ended or was reset; returns the producers to fail.
    mutating func close() -> InlineBatch<Waiter> {
        closed = true
        items = InlineBatch()
        queuedBytes = 0
        defer { waiters = InlineBatch() }
        return waiters
    }
}
