import NIOCore

/// What both stream handlers do with reads and flushes: hold back `read()` while the call is
/// behind, and flush once for all the writes queued on the event loop before the flush runs.
/// Event-loop confined, like the handler that owns it.
struct StreamIO {
    private var readingPaused = false
    private var readPending = false
    private(set) var flushScheduled = false

    /// The call's buffer is full: stop reading until ``resume(_:)``.
    mutating func pauseReading() {
        readingPaused = true
    }

    /// The handler's `read(context:)`: forwards the read unless reading is paused.
    mutating func read(_ context: ChannelHandlerContext) {
        if readingPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The call caught up: issue the read held back, if any.
    mutating func resume(_ context: ChannelHandlerContext?) {
        guard readingPaused else { return }
        readingPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Whether a flush needs scheduling now; the caller then runs ``flushed()`` from it.
    mutating func needsFlushScheduled() -> Bool {
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    mutating func flushed() {
        flushScheduled = false
    }
}
