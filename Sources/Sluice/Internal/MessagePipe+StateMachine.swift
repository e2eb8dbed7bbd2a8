/// The state of a ``MessagePipe``: a bounded buffer between one producer and one consumer.
///
/// A plain value type: every method returns what the caller must do (resume a continuation,
/// ask the producer for more), and never does it itself, so the pipe can act outside its lock
/// and the machine can be tested state by state.
struct MessagePipeStateMachine<Element: Sendable, Waiter, ProducerWaiter> {
    enum Terminal {
        case finished
        case failed(any Error)
    }

    /// The oldest buffered element, when it is the only one or the first: most calls buffer
    /// one message at a time, and keeping it here spares the array an allocation per call.
    private var front: Element?
    /// Buffered elements after ``front``, read from `head`.
    private var buffer: [Element] = []
    private var head = 0
    let highWatermark: Int
    /// Bytes buffered (as ``weigh`` counts them) before the producer is held back: with
    /// messages of up to megabytes, a count alone would let a few elements pin a lot of memory.
    let byteLimit: Int
    /// An element's size in bytes; nil counts elements only.
    private let weigh: (@Sendable (Element) -> Int)?
    /// What ``weigh`` says the buffered elements hold.
    private(set) var bufferedBytes = 0
    private(set) var terminal: Terminal?
    /// The consumer stopped listening: further elements are dropped and producers fail.
    private(set) var consumerGone = false
    /// The consumer waits in `next()`.
    private var waiter: Waiter?
    /// Async producers waiting for room, in order.
    private var producers: [ProducerWaiter] = []
    /// The synchronous producer was told to stop and awaits a demand signal.
    private var producerPaused = false

    init(highWatermark: Int, byteLimit: Int = .max, weigh: (@Sendable (Element) -> Int)? = nil) {
        precondition(highWatermark > 0 && byteLimit > 0)
        self.highWatermark = highWatermark
        self.byteLimit = byteLimit
        self.weigh = weigh
    }

    var buffered: Int { (front == nil ? 0 : 1) + buffer.count - head }

    /// No room for more: the count or the bytes reached their limit. The first element is
    /// always taken, whatever its size, so one element larger than the limit still passes.
    private var isFull: Bool { buffered >= highWatermark || bufferedBytes >= byteLimit }

    /// Adds an element behind those buffered.
    private mutating func enqueue(_ element: Element) {
        if let weigh { bufferedBytes += weigh(element) }
        if front == nil && buffer.count == head {
            front = element
        } else {
            buffer.append(element)
        }
    }

    /// Takes the oldest buffered element; there must be one.
    private mutating func dequeue() -> Element {
        let element = takeOldest()
        if let weigh { bufferedBytes -= weigh(element) }
        return element
    }

    private mutating func takeOldest() -> Element {
        if let element = front {
            front = nil
            // What was queued behind it moves up, so order is kept.
            if head < buffer.count {
                front = buffer[head]
                advanceHead()
            }
            return element
        }
        let element = buffer[head]
        advanceHead()
        return element
    }

    private mutating func advanceHead() {
        head += 1
        if head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
    }

    // MARK: Producer side

    enum YieldAction {
        /// Deliver straight to the waiting consumer.
        case resumeConsumer(Waiter, Element)
        /// Buffered; `more` says whether the producer may continue.
        case buffered(more: Bool)
        /// Nobody will read it.
        case dropped
    }

    mutating func yield(_ element: Element) -> YieldAction {
        if consumerGone || terminal != nil { return .dropped }
        if let waiter = self.waiter {
            self.waiter = nil
            return .resumeConsumer(waiter, element)
        }
        enqueue(element)
        let more = !isFull
        if !more { producerPaused = true }
        return .buffered(more: more)
    }

    /// The last element and the end together: a consumer waiting for the element gets it with
    /// the end already recorded, so its next call returns at once instead of waiting again.
    mutating func yieldLast(_ element: Element, then how: Terminal) -> YieldAction {
        let action = yield(element)
        if case .dropped = action { return action }
        terminal = how
        return action
    }

    enum SendAction {
        case resumeConsumer(Waiter, Element)
        case buffered
        /// Full: the producer must wait; ``admit(_:)`` decides once it has a continuation.
        case wait
        case fail
    }

    /// An async producer's send: like `yield`, but waits instead of overfilling.
    mutating func send(_ element: Element) -> SendAction {
        if consumerGone || terminal != nil { return .fail }
        if let waiter = self.waiter {
            self.waiter = nil
            return .resumeConsumer(waiter, element)
        }
        if !isFull {
            enqueue(element)
            return .buffered
        }
        return .wait
    }

    enum ParkProducer: Equatable {
        case parked
        /// Room appeared between ``send(_:)`` saying wait and the producer parking: the
        /// consumer may already be waiting for data, so parking now would lose the wakeup.
        case retry
        case fail
    }

    /// Parks an async producer until there is room.
    mutating func park(_ producer: ProducerWaiter) -> ParkProducer {
        if consumerGone || terminal != nil { return .fail }
        if !isFull || waiter != nil { return .retry }
        producers.append(producer)
        return .parked
    }

    enum FinishAction {
        case resumeConsumer(Waiter, Terminal)
        case none
    }

    /// Ends the stream after the buffered elements.
    mutating func finish(_ how: Terminal) -> FinishAction {
        guard terminal == nil else { return .none }
        terminal = how
        if buffered == 0, let waiter = self.waiter {
            self.waiter = nil
            return .resumeConsumer(waiter, how)
        }
        return .none
    }

    // MARK: Consumer side

    enum NextAction {
        /// An element; `wakeProducer` is an async producer now let in, `demand` asks the
        /// synchronous producer to resume reading.
        case element(Element, wakeProducer: ProducerWaiter?, demand: Bool)
        case end(Terminal)
        /// The consumer already left.
        case gone
        case wait
    }

    mutating func next() -> NextAction {
        if consumerGone { return .gone }
        if buffered > 0 {
            let element = dequeue()
            var wake: ProducerWaiter?
            if !producers.isEmpty && !isFull {
                wake = producers.removeFirst()
            }
            var demand = false
            // Resume a paused producer once half the buffer has drained: not at once, which
            // would toggle reading on and off per element.
            if producerPaused && buffered <= highWatermark / 2 && bufferedBytes <= byteLimit / 2 {
                producerPaused = false
                demand = true
            }
            return .element(element, wakeProducer: wake, demand: demand)
        }
        if let terminal { return .end(terminal) }
        return .wait
    }

    /// Parks the consumer; false when something arrived since ``next()`` said wait.
    mutating func park(consumer: Waiter) -> Bool {
        guard buffered == 0, terminal == nil, !consumerGone else { return false }
        waiter = consumer
        return true
    }

    enum GoneAction {
        case notify(consumer: Waiter?, producers: [ProducerWaiter])
        case none
    }

    /// The consumer will read no more (cancelled, or the stream was dropped).
    mutating func consumerDidLeave() -> GoneAction {
        guard !consumerGone else { return .none }
        consumerGone = true
        front = nil
        buffer = []
        head = 0
        bufferedBytes = 0
        let consumer = waiter
        waiter = nil
        let waiting = producers
        producers = []
        return .notify(consumer: consumer, producers: waiting)
    }
}
