import Synchronization

/// A value set once and awaited by any number of tasks: response headers, a call's end.
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value, Never>], callbacks: [@Sendable (Value) -> Void])
        case set(Value)
    }

    private let state = Mutex(State.waiting([], callbacks: []))

    public init() {}

    /// Sets the value and wakes every waiter; returns false (and changes nothing) if already set.
    @discardableResult
    public func set(_ value: Value) -> Bool {
        let pending: ([CheckedContinuation<Value, Never>], [@Sendable (Value) -> Void])? = state.withLock { state in
            guard case .waiting(let waiters, let callbacks) = state else { return nil }
            state = .set(value)
            return (waiters, callbacks)
        }
        guard let (waiters, callbacks) = pending else { return false }
        // Callbacks first: what they record is in place when the waiters resume.
        for callback in callbacks { callback(value) }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// Calls `body` with the value when it is set (at once if it already is), on the thread
    /// that sets it and before any waiter resumes: for bookkeeping that must not cost a task.
    public func whenSet(_ body: @escaping @Sendable (Value) -> Void) {
        let ready: Value? = state.withLock { state in
            switch state {
            case .set(let value):
                return value
            case .waiting(let waiters, var callbacks):
                callbacks.append(body)
                state = .waiting(waiters, callbacks: callbacks)
                return nil
            }
        }
        if let ready { body(ready) }
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
                    case .waiting(var waiters, let callbacks):
                        waiters.append(continuation)
                        state = .waiting(waiters, callbacks: callbacks)
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
