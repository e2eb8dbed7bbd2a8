import Synchronization

/// Runs a forced shutdown once a grace period has passed, unless cancelled first: what turns a
/// cancelled ``GRPCServer/serve()`` from graceful into forced.
final class ForcedShutdownTimer: Sendable {
    private enum State {
        case idle
        case running(Task<Void, Never>)
        case cancelled
    }

    private let state = Mutex(State.idle)

    /// Starts the timer; does nothing if it already runs or was cancelled.
    func start(after grace: Duration, _ action: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard case .idle = state else { return }
            state = .running(Task {
                // A cancelled sleep means serving ended within the grace period.
                guard (try? await Task.sleep(for: grace)) != nil else { return }
                action()
            })
        }
    }

    /// Stops the timer; a later ``start(after:_:)`` does nothing.
    func cancel() {
        let task = state.withLock { state -> Task<Void, Never>? in
            defer { state = .cancelled }
            if case .running(let task) = state { return task }
            return nil
        }
        task?.cancel()
    }
}
