/// The writing end of one direction of an RPC: messages go in, backpressure comes out.
///
/// Backed by a pipe to an ``RPCAsyncSequence`` (``makeRPCStream(of:highWatermark:onDemand:onReaderGone:)``)
/// or by a transport writing straight to its connection (``init(write:yield:finish:)``).
public struct RPCWriter<Element: Sendable>: Sendable {
    private let writeElement: @Sendable (Element) async throws -> Void
    private let yieldElement: @Sendable (Element) -> Bool
    private let end: @Sendable ((any Error)?) -> Void

    /// A writer over a transport's own sink.
    ///
    /// - Parameters:
    ///   - write: Sends an element, suspending while the peer is slow.
    ///   - yield: Sends without suspending; returns whether more are welcome now.
    ///   - finish: Ends the stream, with an error or not.
    public init(
        write: @escaping @Sendable (Element) async throws -> Void,
        yield: @escaping @Sendable (Element) -> Bool,
        finish: @escaping @Sendable ((any Error)?) -> Void
    ) {
        self.writeElement = write
        self.yieldElement = yield
        self.end = finish
    }

    init(pipe: MessagePipe<Element>) {
        self.init(
            write: { try await pipe.send($0) },
            yield: { pipe.yield($0) },
            finish: { error in pipe.finish(throwing: error) })
    }

    /// Sends an element, waiting while the peer is slow. Throws `CancellationError` once the
    /// reading side has gone (the RPC was cancelled or ended).
    public func write(_ element: Element) async throws {
        try await writeElement(element)
    }

    /// Offers an element without waiting; returns whether more are welcome now. For event-loop
    /// producers, which pause until their demand callback fires.
    @discardableResult
    public func yield(_ element: Element) -> Bool {
        yieldElement(element)
    }

    /// Ends the stream after what was written.
    public func finish() {
        end(nil)
    }

    /// Ends the stream with an error the reader throws.
    public func finish(throwing error: any Error) {
        end(error)
    }
}

/// The reading end: an AsyncSequence of what the peer sent.
public struct RPCAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    let pipe: MessagePipe<Element>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pipe: MessagePipe<Element>

        public mutating func next() async throws -> Element? {
            try await pipe.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(pipe: pipe)
    }

    /// Stops reading: what is buffered is dropped and the writer fails.
    public func cancel() {
        pipe.consumerDidLeave()
    }
}

/// Makes a connected writer and sequence.
///
/// - Parameters:
///   - type: The element type, when the call site does not imply it.
///   - highWatermark: How many elements may wait before the writer is held back.
///   - onDemand: Called when a producer paused by `yield` may resume.
///   - onReaderGone: Called once if the reader stops before the end.
public func makeRPCStream<Element: Sendable>(
    of type: Element.Type = Element.self,
    highWatermark: Int = 16,
    onDemand: (@Sendable () -> Void)? = nil,
    onReaderGone: (@Sendable () -> Void)? = nil
) -> (writer: RPCWriter<Element>, sequence: RPCAsyncSequence<Element>) {
    let pipe = MessagePipe<Element>(highWatermark: highWatermark, onDemand: onDemand, onConsumerGone: onReaderGone)
    return (RPCWriter(pipe: pipe), RPCAsyncSequence(pipe: pipe))
}

/// Makes a connected writer and sequence of serialized messages bounded in bytes as well as in
/// count: a transport's inbound messages, which may each be megabytes.
///
/// - Parameters:
///   - highWatermark: How many messages may wait before the writer is held back.
///   - byteLimit: How many bytes of messages may wait before the writer is held back (one
///     message larger than that still passes alone).
///   - onDemand: Called when a producer paused by `yield` may resume.
///   - onReaderGone: Called once if the reader stops before the end.
public func makeRPCStream(
    ofMessagesUpTo byteLimit: Int,
    highWatermark: Int = 16,
    onDemand: (@Sendable () -> Void)? = nil,
    onReaderGone: (@Sendable () -> Void)? = nil
) -> (writer: RPCWriter<SerializedMessage>, sequence: RPCAsyncSequence<SerializedMessage>) {
    let pipe = MessagePipe<SerializedMessage>(
        highWatermark: highWatermark, byteLimit: byteLimit, weigh: { $0.bytes.count },
        onDemand: onDemand, onConsumerGone: onReaderGone)
    return (RPCWriter(pipe: pipe), RPCAsyncSequence(pipe: pipe))
}
