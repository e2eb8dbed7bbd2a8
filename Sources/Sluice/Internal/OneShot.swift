import Synchronization

/// A value set once and awaited by any number of tasks: response headers, a call's end.
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value, Never>])
        case set(Value)
    }

    private let state = Mutex(State.waiting([]))

    public init() {}

    /// Sets the value and wakes every waiter; returns false (and changes nothing) if already set.
    @discardableResult
    public func set(_ value: Value) -> Bool {
        let waiters: [CheckedContinuation<Value, Never>]? = state.withLock { state in
            guard case .waiting(let waiters) = state else { return nil }
            state = .set(value)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The value, once set.
    public var value: Value {
        get async {
            if let value = peek() { return value }
            return await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    switch state {
                    case .set(let value):
                        return value
                    case .waiting(var waiters):
                        waiters.append(continuation)
                        state = .waiting(waiters)
                        return nil
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// The value if already set.
    public func peek() -> Value? {
        state.withLock { state in
            if case .set(let value) = state { return value }
            return nil
        }
    }
}
