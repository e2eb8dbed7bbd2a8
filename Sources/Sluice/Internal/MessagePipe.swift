import Synchronization

/// A bounded, backpressured channel from one producer to one consumer, as an AsyncSequence.
///
/// Transports push what they read into one (`yield` from a synchronous event handler, which
/// is told to stop reading when the buffer reaches its high watermark and called back through
/// `onDemand` when it drains; or `send` from a task, which suspends instead). The consumer
/// iterates it. When the consumer leaves (its task is cancelled, or it calls
/// ``consumerDidLeave()``), `onConsumerGone` fires so the transport can cancel the RPC: this
/// is how a dropped response stream becomes RST_STREAM.
final class MessagePipe<Element: Sendable>: Sendable {
    /// What a parked consumer is woken with.
    enum Delivery: Sendable {
        case element(Element)
        case end
        /// The state changed while parking: look again.
        case retry
    }

    // Unsafe continuations: a checked one allocates on every wait, and the machine hands
    // each parked waiter out exactly once (its tests check every path), which is the
    // guarantee the checked variant would verify.
    typealias Machine = MessagePipeStateMachine<
        Element, UnsafeContinuation<Delivery, any Error>, UnsafeContinuation<Void, any Error>
    >

    private let state: Mutex<Machine>
    private let onDemand: (@Sendable () -> Void)?
    private let onConsumerGone: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - highWatermark: Elements buffered before the producer is held back.
    ///   - onDemand: Called (outside the lock) when a paused synchronous producer may resume.
    ///   - onConsumerGone: Called once when the consumer stops listening before the end.
    ///   - byteLimit: Bytes buffered, as `weigh` counts them, before the producer is held back.
    ///   - weigh: An element's size in bytes; nil counts elements only.
    init(highWatermark: Int = 16, byteLimit: Int = .max, weigh: (@Sendable (Element) -> Int)? = nil,
         onDemand: (@Sendable () -> Void)? = nil, onConsumerGone: (@Sendable () -> Void)? = nil) {
        state = Mutex(Machine(highWatermark: highWatermark, byteLimit: byteLimit, weigh: weigh))
        self.onDemand = onDemand
        self.onConsumerGone = onConsumerGone
    }

    /// Offers an element without waiting. Returns whether the producer may go on producing;
    /// after `false` it should pause until `onDemand` is called.
    @discardableResult
    func yield(_ element: Element) -> Bool {
        switch state.withLock({ $0.yield(element) }) {
        case .resumeConsumer(let consumer, let element):
            consumer.resume(returning: .element(element))
            return true
        case .buffered(let more):
            return more
        case .dropped:
            return false
        }
    }

    /// Offers the last element and ends the stream after it (with `error`, if any), in one step.
    func yieldLast(_ element: Element, throwing error: (any Error)? = nil) {
        let terminal: Machine.Terminal = error.map { .failed($0) } ?? .finished
        switch state.withLock({ $0.yieldLast(element, then: terminal) }) {
        case .resumeConsumer(let consumer, let element):
            consumer.resume(returning: .element(element))
        case .buffered, .dropped:
            break
        }
    }

    /// Sends an element, waiting while the buffer is full. Throws `CancellationError` when the
    /// consumer has left or the pipe has ended.
    func send(_ element: Element) async throws {
        while true {
            switch state.withLock({ $0.send(element) }) {
            case .resumeConsumer(let consumer, let element):
                consumer.resume(returning: .element(element))
                return
            case .buffered:
                return
            case .fail:
                throw CancellationError()
            case .wait:
                try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                    switch state.withLock({ $0.park(continuation) }) {
                    case .parked: break
                    case .retry: continuation.resume()
                    case .fail: continuation.resume(throwing: CancellationError())
                    }
                }
            }
        }
    }

    /// Ends the stream once buffered elements are read; `error` makes the consumer throw.
    func finish(throwing error: (any Error)? = nil) {
        let action = state.withLock { $0.finish(error.map { .failed($0) } ?? .finished) }
        if case .resumeConsumer(let consumer, let terminal) = action {
            switch terminal {
            case .finished: consumer.resume(returning: .end)
            case .failed(let error): consumer.resume(throwing: error)
            }
        }
    }

    /// The next element, nil at the end. Cancelling the waiting task ends the stream for the
    /// consumer (it throws `CancellationError`) and tells the producer.
    func next() async throws -> Element? {
        while true {
            switch state.withLock({ $0.next() }) {
            case .element(let element, let producer, let demand):
                producer?.resume()
                if demand { onDemand?() }
                return element
            case .end(.finished):
                return nil
            case .end(.failed(let error)):
                throw error
            case .gone:
                throw CancellationError()
            case .wait:
                if Task.isCancelled {
                    consumerDidLeave()
                    throw CancellationError()
                }
                let delivery = try await withTaskCancellationHandler {
                    try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Delivery, any Error>) in
                        if !state.withLock({ $0.park(consumer: continuation) }) {
                            continuation.resume(returning: .retry)
                        }
                    }
                } onCancel: {
                    consumerDidLeave()
                }
                switch delivery {
                case .element(let element): return element
                case .end: return nil
                case .retry: continue
                }
            }
        }
    }

    /// Stops consuming: drops what is buffered, fails producers, and reports it once.
    func consumerDidLeave() {
        let action = state.withLock { $0.consumerDidLeave() }
        guard case .notify(let consumer, let producers) = action else { return }
        consumer?.resume(throwing: CancellationError())
        for producer in producers { producer.resume(throwing: CancellationError()) }
        onConsumerGone?()
    }
}
