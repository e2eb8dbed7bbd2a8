import Synchronization

/// A value set once and awaited by any number of tasks: response headers, a call's end.
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        /// The first waiter and the first callback are kept inline: most values have one of
        /// each at most, and then waiting allocates no array.
        case waiting(first: UnsafeContinuation<Value, Never>?, more: [UnsafeContinuation<Value, Never>],
                     firstCallback: (@Sendable (Value) -> Void)?, callbacks: [@Sendable (Value) -> Void])
        case set(Value)
    }

    private let state = Mutex(State.waiting(first: nil, more: [], firstCallback: nil, callbacks: []))

    public init() {}

    /// Sets the value and wakes every waiter; returns false (and changes nothing) if already set.
    @discardableResult
    public func set(_ value: Value) -> Bool {
        let pending = state.withLock { state -> State? in
            guard case .waiting = state else { return nil }
            defer { state = .set(value) }
            return state
        }
        guard case .waiting(let first, let more, let firstCallback, let callbacks)? = pending else { return false }
        // Callbacks first: what they record is in place when the waiters resume.
        firstCallback?(value)
        for callback in callbacks { callback(value) }
        // Each continuation was stored once and is resumed once, here.
        first?.resume(returning: value)
        for waiter in more { waiter.resume(returning: value) }
        return true
    }

    /// Calls `body` with the value when it is set (at once if it already is), on the thread
    /// that sets it and before any waiter resumes: for bookkeeping that must not cost a task.
    public func whenSet(_ body: @escaping @Sendable (Value) -> Void) {
        let ready: Value? = state.withLock { state in
            switch state {
            case .set(let value):
                return value
            case .waiting(let first, let more, nil, let callbacks):
                state = .waiting(first: first, more: more, firstCallback: body, callbacks: callbacks)
                return nil
            case .waiting(let first, let more, let firstCallback?, var callbacks):
                callbacks.append(body)
                state = .waiting(first: first, more: more, firstCallback: firstCallback, callbacks: callbacks)
                return nil
            }
        }
        if let ready { body(ready) }
    }

    /// The value, once set.
    public var value: Value {
        get async {
            if let value = peek() { return value }
            // Unsafe rather than checked: the continuation is resumed exactly once, by `set`
            // or right here, and a checked one costs an allocation per wait.
            return await withUnsafeContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    switch state {
                    case .set(let value):
                        return value
                    case .waiting(nil, let more, let firstCallback, let callbacks):
                        state = .waiting(first: continuation, more: more, firstCallback: firstCallback, callbacks: callbacks)
                        return nil
                    case .waiting(let first?, var more, let firstCallback, let callbacks):
                        more.append(continuation)
                        state = .waiting(first: first, more: more, firstCallback: firstCallback, callbacks: callbacks)
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
