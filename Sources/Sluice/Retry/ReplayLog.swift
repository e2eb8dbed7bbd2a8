import Synchronization

/// How much request data retries may hold for replay (gRFC A6): per call, and for all the
/// calls of one client together. A call that would pass either commits to its current attempt
/// and goes on unbuffered, so it can no longer be retried.
public struct RetryBufferLimits: Sendable, Hashable {
    /// Request bytes one call may hold: 256 KiB, as grpc-java and grpc-go.
    public var perCall = 256 * 1024
    /// Request bytes all calls of a client may hold together: 16 MiB, as grpc-java.
    public var perChannel = 16 * 1024 * 1024

    public init() {}

    public init(perCall: Int, perChannel: Int) {
        self.perCall = perCall
        self.perChannel = perChannel
    }
}

/// The bytes every call of one client holds for replay, against
/// ``RetryBufferLimits/perChannel``.
final class RetryBufferBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes` from the budget if they fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .relaxed)
    }

    /// Bytes held now.
    var inUse: Int { used.load(ordering: .relaxed) }
}

/// The request side of a retried streaming call: the producer appends, each attempt's sender
/// reads from the first request on, and the call commits to one attempt (see
/// ``StateMachine`` for the rules). Waiting tasks are woken here, outside the lock.
final class ReplayLog: Sendable {
    private struct State {
        var machine: StateMachine
        var readers: [Int: CheckedContinuation<Void, Never>] = [:]
        var writer: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>
    private let budget: RetryBufferBudget
    /// Set once the buffer limit is crossed: the call commits to its current attempt.
    let overflowed = OneShot<Void>()

    init(limits: RetryBufferLimits, budget: RetryBufferBudget) {
        self.state = Mutex(State(machine: StateMachine(perCallLimit: limits.perCall)))
        self.budget = budget
    }

    // MARK: The producer's side

    /// Appends a request, waiting while a committed attempt is behind. Returns false when the
    /// log has handed over: the caller sends the request to the committed attempt itself.
    /// Throws `CancellationError` once the call is over.
    func append(_ message: SerializedMessage) async throws -> Bool {
        while true {
            let result = state.withLock { state -> StateMachine.AppendResult in
                let granted = state.machine.phase == .buffering ? budget.reserve(message.bytes.count) : true
                return state.machine.append(message, budgetGranted: granted)
            }
            switch result {
            case .appended(let overflowed, let release):
                budget.release(release)
                wakeReaders()
                if overflowed { self.overflowed.set(()) }
                return true
            case .sendDirectly:
                return false
            case .refused:
                throw CancellationError()
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.machine.writerMayAppend { return true }
                        state.writer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// No more requests; with an error when the producer failed. Returns true when the log has
    /// handed over: the caller ends the committed attempt's requests itself.
    func finish(_ error: RPCError?) -> Bool {
        let direct = state.withLock { $0.machine.finish(error.map { .failed($0) } ?? .finished) }
        wakeReaders()
        return direct
    }

    // MARK: The attempts' side

    /// The request at `index` for `attempt`, waiting until there is one (or the end).
    func read(attempt: Int, index: Int) async -> StateMachine.ReadResult {
        while true {
            let (result, writer) = state.withLock { state -> (StateMachine.ReadResult, CheckedContinuation<Void, Never>?) in
                let result = state.machine.read(attempt: attempt, index: index)
                var writer: CheckedContinuation<Void, Never>?
                if state.machine.writerMayAppend { writer = state.writer; state.writer = nil }
                return (result, writer)
            }
            writer?.resume()
            guard result == .wait else { return result }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard case .wait = state.machine.read(attempt: attempt, index: index) else { return true }
                    state.readers[attempt] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// The call commits to `attempt`: buffering stops, and the senders of other attempts
    /// find `.gone`.
    func commit(to attempt: Int) {
        let release = state.withLock { $0.machine.commit(to: attempt) }
        budget.release(release)
        wakeReaders()
    }

    /// The call is over: drop the requests, wake everyone.
    func abandon() {
        let release = state.withLock { $0.machine.abandon() }
        budget.release(release)
        wakeReaders()
    }

    /// Whether the call can no longer be retried because its requests overflowed the buffer.
    var hasOverflowed: Bool { overflowed.peek() != nil }

    /// The producer's error, once it failed.
    var producerFailure: RPCError? {
        state.withLock { state in
            if case .failed(let error)? = state.machine.ending { return error }
            return nil
        }
    }

    private func wakeReaders() {
        let (readers, writer) = state.withLock { state -> ([CheckedContinuation<Void, Never>], CheckedContinuation<Void, Never>?) in
            let readers = Array(state.readers.values)
            state.readers.removeAll()
            var writer: CheckedContinuation<Void, Never>?
            if state.machine.writerMayAppend { writer = state.writer; state.writer = nil }
            return (readers, writer)
        }
        for reader in readers { reader.resume() }
        writer?.resume()
    }
}
