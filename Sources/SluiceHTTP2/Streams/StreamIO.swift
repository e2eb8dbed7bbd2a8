/// What both stream handlers do with reads: hold back `read()` while the call is behind.
/// Event-loop confined, like the handler that owns it. It only decides: the handler calls
/// `context.read()` itself, after the mutation, because a read can re-enter the handler.
struct StreamIO {
    private var readingPaused = false
    private var readPending = false

    /// The call's buffer is full: stop reading until ``resume(_:)``.
    mutating func pauseReading() {
        readingPaused = true
    }

    /// The handler's `read(context:)`: whether to forward the read now (else it is held back).
    mutating func shouldRead() -> Bool {
        if readingPaused {
            readPending = true
            return false
        }
        return true
    }

    /// The call caught up: whether a held-back read should be issued now.
    mutating func resume() -> Bool {
        guard readingPaused else { return false }
        readingPaused = false
        defer { readPending = false }
        return readPending
    }
}
