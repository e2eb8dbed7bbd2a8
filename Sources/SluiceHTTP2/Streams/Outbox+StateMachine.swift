/// The state of an ``Outbox``: what a call's task has handed over and its stream's event loop
/// has not yet written.
///
/// A plain value type: every method says what the caller must do (schedule a drain on the
/// loop, resume the waiting producer), so the outbox acts outside its lock and the machine is
/// tested state by state.
struct OutboxStateMachine<Item, Waiter> {
    /// Items queued before the producer waits for the loop to drain them.
    let highWatermark: Int
    private(set) var items = InlineBatch<Item>()
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
    /// The producer, waiting for room.
    private var waiter: Waiter?

    init(highWatermark: Int) {
        precondition(highWatermark > 0)
        self.highWatermark = highWatermark
    }

    private var hasRoom: Bool { items.count < highWatermark && writable }

    // MARK: Producer side

    enum AppendAction: Equatable {
        /// The stream is gone.
        case fail
        /// Queued. `scheduleDrain`: the caller schedules the loop's drain. `mustWait`: the
        /// producer waits (``park(_:)``) before sending more.
        case queued(scheduleDrain: Bool, mustWait: Bool)
    }

    mutating func append(_ item: Item) -> AppendAction {
        guard !closed, !finished else { return .fail }
        items.append(item)
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
        precondition(self.waiter == nil, "one producer at a time")
        self.waiter = waiter
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
        /// The producer to resume, now there is room.
        var wake: Waiter?
    }

    private var endTaken = false

    /// Takes the queued items by swapping them with `spare` (an empty batch the caller keeps,
    /// so the buffers are reused rather than reallocated).
    mutating func take(into spare: inout InlineBatch<Item>) -> Drained {
        drainScheduled = false
        swap(&items, &spare)
        var end = false
        if finished && !endTaken {
            endTaken = true
            end = true
        }
        return Drained(end: end, wake: takeWaiterIfRoom())
    }

    /// The channel's writability changed; returns the producer to resume, if any.
    mutating func setWritable(_ writable: Bool) -> Waiter? {
        self.writable = writable
        return takeWaiterIfRoom()
    }

    private mutating func takeWaiterIfRoom() -> Waiter? {
        guard hasRoom, let waiter else { return nil }
        self.waiter = nil
        return waiter
    }

    /// The stream ended or was reset; returns the producer to fail, if waiting.
    mutating func close() -> Waiter? {
        closed = true
        items = InlineBatch()
        let waiter = self.waiter
        self.waiter = nil
        return waiter
    }
}
