/// The receive side of one HTTP/2 flow-control window (a stream's or the connection's): how
/// many bytes to hand back with WINDOW_UPDATE, and when.
///
/// Received bytes are owed back to the peer once consumed. A stream whose call is behind
/// pauses: what arrives meanwhile is withheld, so the peer runs out of window after at most
/// one window's worth and waits, which is how a slow reader slows the writer. Updates go out
/// once half the window is owed, as swift-nio-http2's multiplexer and grpc-go do, rather than
/// one per frame.
struct InboundWindow: Equatable {
    /// The window the peer was given.
    let target: Int
    private var owed = 0
    private var withheld = 0
    private(set) var isPaused = false

    /// What arrived while paused: bytes the stream holds because its call is behind.
    var withheldBytes: Int { withheld }

    init(target: Int) {
        self.target = target
    }

    /// `bytes` of flow-controlled DATA (payload and padding) arrived. Returns the increment to
    /// send now, if any.
    mutating func received(_ bytes: Int) -> Int? {
        if isPaused {
            withheld += bytes
            return nil
        }
        owed += bytes
        return takeIncrement()
    }

    /// Stop handing back what arrives.
    mutating func pause() {
        isPaused = true
    }

    /// Hand back what was withheld; returns the increment to send now, if any.
    mutating func resume() -> Int? {
        guard isPaused else { return nil }
        isPaused = false
        owed += withheld
        withheld = 0
        return takeIncrement()
    }

    private mutating func takeIncrement() -> Int? {
        guard owed > 0, owed >= target / 2 else { return nil }
        defer { owed = 0 }
        return owed
    }
}

/// The send side of one stream: DATA handed to swift-nio-http2 that has not yet left the
/// connection (it waits there while the peer's window is closed). Above the high watermark
/// the stream stops taking writes until the backlog falls under the low one.
struct OutboundBacklog: Equatable {
    static let highWatermark = 64 * 1024
    static let lowWatermark = 32 * 1024

    private(set) var pending = 0
    private(set) var isWritable = true

    /// `bytes` of DATA were written; returns whether writability changed.
    mutating func queued(_ bytes: Int) -> Bool {
        pending += bytes
        guard isWritable, pending > Self.highWatermark else { return false }
        isWritable = false
        return true
    }

    /// `bytes` of DATA left the connection; returns whether writability changed.
    mutating func sent(_ bytes: Int) -> Bool {
        pending = max(0, pending - bytes)
        guard !isWritable, pending < Self.lowWatermark else { return false }
        isWritable = true
        return true
    }
}

/// The bytes a connection's stalled streams may hold together.
///
/// Each stream's window bounds what it holds, but a hundred streams whose calls all stopped
/// reading hold a hundred windows. Past `limit`, the connection's own window is withheld too,
/// so the peer can add at most one connection window more, whatever its number of streams;
/// it flows again once stalled streams resume or close. Streams that read on are never held
/// back unless the connection is over budget, which takes many stalled ones at once.
struct ConnectionReceiveBudget: Equatable {
    let limit: Int
    /// Bytes that streams paused by their calls hold.
    private(set) var held = 0
    /// Connection window updates not sent because the budget was exceeded.
    private(set) var withheldIncrement = 0

    init(limit: Int) {
        self.limit = limit
    }

    var isExceeded: Bool { held > limit }

    /// A paused stream received `bytes`.
    mutating func hold(_ bytes: Int) {
        held += bytes
    }

    /// A connection window update is due; returns what to send now (nil while over budget).
    mutating func admit(_ increment: Int) -> Int? {
        guard isExceeded else { return increment }
        withheldIncrement += increment
        return nil
    }

    /// `bytes` held by a stream were given up; returns the withheld update to send, if the
    /// connection is back under budget.
    mutating func release(_ bytes: Int) -> Int? {
        held = max(0, held - bytes)
        guard !isExceeded, withheldIncrement > 0 else { return nil }
        defer { withheldIncrement = 0 }
        return withheldIncrement
    }
}

/// The receive windows Sluice advertises, on both sides.
enum FlowControlDefaults {
    /// SETTINGS_INITIAL_WINDOW_SIZE: how far a stream's peer may run ahead of its call.
    static let streamWindow = 1 << 20
    /// The connection's window, shared by its streams.
    static let connectionWindow = 4 << 20
    /// What a connection's stalled streams may hold together before its window is withheld.
    static let connectionReceiveBudget = 16 << 20
    /// Bytes of messages a call's outbox holds before the call waits for the event loop.
    static let outboxBytesPerStream = 64 << 10
    /// Bytes of received messages a call's pipe holds before reading from the peer stops.
    static let receivePipeBytesPerStream = 256 << 10
    /// Received messages a call's pipe holds before reading from the peer stops: enough that
    /// a stream of small messages does not hop between the call's task and the event loop
    /// every few messages (each resume is one), few enough that tiny messages cost little.
    static let receivePipeMessagesPerStream = 128
}
