import NIOCore
import Sluice
import Synchronization

/// The call's side of one client stream: its request outbox, and the way its callbacks (a
/// request to send, more demand for responses, cancellation) reach the stream handler, which
/// exists only once the stream is open and must not be kept alive by them after it closes.
///
/// One object per call, so that the closures the call holds capture it alone and need no
/// allocation of their own.
final class ClientStreamHandle: Sendable {
    /// What the loop needs to open the stream: kept here so that the task opening it on the
    /// loop captures only this handle.
    struct Opening: Sendable {
        var head: RequestHead
        var sink: ClientStreamSink
        var connection: ClientConnection
        var scheme: String
        var authority: String
        var maxReceiveMessageSize: Int
        /// What an earlier stream of the call sent, for the new one to send first.
        var replay: TransparentRetry.Replay?
        /// How many more times the call may move to another connection without counting as
        /// an attempt (gRFC A6's transparent retry).
        var transparentRetriesLeft = TransparentRetry.maxPerCall
        /// The transport, to open the call again on another of its connections. A reference
        /// rather than a closure: a closure capturing it weakly would cost an allocation per
        /// call, and the reference lasts only while the call's stream does.
        var transport: HTTP2ClientTransport
    }

    private struct State {
        var opening: Opening?
        var handler: NIOLoopBound<ClientStreamHandler>?
        /// The loop of the connection the call's stream is on (another after a transparent retry).
        var eventLoop: any EventLoop
    }

    /// Framed requests for the handler to write, bounded in count and bytes.
    let requests = Outbox<ByteBuffer>(byteLimit: FlowControlDefaults.outboxBytesPerStream, weigh: { $0.readableBytes })
    private let compression: CompressionAlgorithm?
    private let allocator: ByteBufferAllocator
    private let state: Mutex<State>

    init(eventLoop: any EventLoop, compression: CompressionAlgorithm?, allocator: ByteBufferAllocator) {
        self.state = Mutex(State(eventLoop: eventLoop))
        self.compression = compression == .identity ? nil : compression
        self.allocator = allocator
    }

    // MARK: The call's side

    /// Frames (and compresses) a request on the calling task, then queues it for the loop.
    func send(_ message: SerializedMessage) async throws {
        try await requests.send(try frame(message))
    }

    /// Like ``send(_:)`` without waiting; false when full or failed.
    func offer(_ message: SerializedMessage) -> Bool {
        guard let framed = try? frame(message) else { return false }
        return requests.offer(framed)
    }

    /// Half-closes once the queued requests are written.
    func finishRequests() {
        requests.finish()
    }

    /// The response reader caught up.
    func resumeReading() {
        requests.resumeReadingOnLoop()
    }

    /// The call was cancelled: no more requests, and RST_STREAM if the stream is open.
    func abort() {
        requests.close()
        let (handler, eventLoop) = state.withLock { ($0.handler, $0.eventLoop) }
        guard let handler else { return }
        eventLoop.execute { handler.value.cancel() }
    }

    private func frame(_ message: SerializedMessage) throws -> ByteBuffer {
        try MessageFramer.frame(message, encoding: compression, allocator: allocator)
    }

    /// Opens the stream on the connection's event loop: the handler writes HEADERS and what
    /// the call has queued by then.
    func open(_ opening: Opening) {
        let eventLoop = opening.connection.channel.eventLoop
        state.withLock { state in
            state.opening = opening
            state.eventLoop = eventLoop
        }
        eventLoop.execute { self.openOnLoop(eventLoop) }
    }

    private func openOnLoop(_ eventLoop: any EventLoop) {
        let opening = state.withLock { state -> Opening? in
            defer { state.opening = nil }
            return state.opening
        }
        guard let opening else { return }
        ClientStreamHandler(opening, handle: self).start(on: eventLoop)
    }

    // MARK: The handler's side

    /// The handler, while its stream is open.
    private var handler: NIOLoopBound<ClientStreamHandler>? {
        state.withLock { $0.handler }
    }

    func attach(_ handler: NIOLoopBound<ClientStreamHandler>) {
        state.withLock { $0.handler = handler }
    }

    /// The stream closed: the handler holds the call's sink, whose callbacks hold this handle,
    /// so dropping it here breaks the cycle.
    func detach() {
        state.withLock { $0.handler = nil }
    }
}

/// gRFC A6's transparent retry: a call whose stream the server never processed (the
/// connection closed before the stream opened, or a GOAWAY's last stream ID was below it)
/// moves to another connection, and a stream refused with REFUSED_STREAM opens again, without
/// counting as an attempt of the call's retry policy and without the caller seeing it.
enum TransparentRetry {
    /// Moves a call may make: one for a server's GOAWAY or refusal and one for a connection
    /// lost while opening, so that a server refusing everything fails the call soon.
    static let maxPerCall = 2
    /// Request bytes a stream keeps, until the server answers, to send again on a retry.
    static let maxReplayBytes = 64 * 1024

    /// The request DATA a stream had sent, and whether that included the end of the requests.
    struct Replay: Sendable {
        var requests: [ByteBuffer]
        var ended: Bool
    }
}
