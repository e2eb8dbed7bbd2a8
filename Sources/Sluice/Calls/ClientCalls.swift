import SluiceProto
import Synchronization

/// A single response message with the call's response metadata. Member lookup reaches the
/// message's fields directly: `try await client.getUser(request).name`.
@dynamicMemberLookup
public struct UnaryResponse<Message: Sendable>: Sendable {
    public var message: Message
    public var headers: Metadata
    public var trailers: Metadata
    /// Whether the response message arrived compressed.
    public var messageWasCompressed = false
    /// How many attempts the call took (more than 1 when its retry policy retried it).
    public var attempts = 1

    public init(message: Message, headers: Metadata, trailers: Metadata) {
        self.message = message
        self.headers = headers
        self.trailers = trailers
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<Message, T>) -> T {
        message[keyPath: keyPath]
    }
}

/// Cancels its call when the last copy of the response that owns it goes away before the
/// call ended: a response stream dropped half-read sends RST_STREAM. A writer-driven call's
/// requests end then too, so its request producer does not wait for a `finish()` that can no
/// longer matter.
final class CallLifetime: Sendable {
    let cancelCall: @Sendable () -> Void
    let end: OneShot<CallEnd>
    let released: (@Sendable () -> Void)?

    init(end: OneShot<CallEnd>, cancel: @escaping @Sendable () -> Void, released: (@Sendable () -> Void)? = nil) {
        self.end = end
        self.cancelCall = cancel
        self.released = released
    }

    deinit {
        if end.peek() == nil { cancelCall() }
        released?()
    }
}

/// A stream of response messages, iterable anywhere (it does not need the call's closure),
/// with the response headers and trailers. Dropping it before the end cancels the call.
public struct StreamingResponse<Message: Sendable>: AsyncSequence, Sendable {
    let response: StreamingClientResponse<Message>
    let lifetime: CallLifetime

    init(_ response: StreamingClientResponse<Message>, released: (@Sendable () -> Void)? = nil) {
        self.response = response
        self.lifetime = CallLifetime(end: response.end, cancel: response.cancel, released: released)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: any AsyncIteratorProtocol<Message, any Error>
        let lifetime: CallLifetime

        public mutating func next() async throws -> Message? {
            try await base.next(isolation: nil)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: response.messages.makeAsyncIterator(), lifetime: lifetime)
    }

    /// The response headers.
    public var headers: Metadata {
        get async { await response.headers.value }
    }

    /// The trailers, once the call has ended.
    public var trailers: Metadata {
        get async { await response.end.value.trailers }
    }

    /// OK, or how the call failed, once it has ended.
    public var status: Status {
        get async {
            let end = await response.end.value
            return end.error.map { Status(code: $0.code, message: $0.message) } ?? .ok
        }
    }

    /// Whether the response message read last arrived compressed.
    public var lastMessageWasCompressed: Bool {
        response.lastMessageWasCompressed
    }

    /// How many attempts the call took (more than 1 when its retry policy retried it).
    public var attempts: Int { response.attempts }

    /// Cancels the call; iteration then throws CANCELLED.
    public func cancel() {
        response.cancel()
    }
}

/// Connects a ``RequestWriter`` to its call: the call's request producer hands over the
/// call's own writer and waits until the requests are finished, and sends go straight to that
/// writer. No buffer and no task stand between the caller and the transport, which has its
/// own bounded queue.
final class RequestChannel<Message: Sendable>: Sendable {
    private let writer = OneShot<MessageWriter<Message>>()
    private let finished = OneShot<Void>()

    /// The producer of a call fed by this channel: lends the call's writer until ``finish()``.
    var producer: @Sendable (MessageWriter<Message>) async throws -> Void {
        { writer in
            self.writer.set(writer)
            await self.finished.value
        }
    }

    func send(_ message: Message, compressed: Bool) async throws {
        if finished.peek() != nil { throw CancellationError() }
        try await writer.value.write(message, compressed: compressed)
    }

    func finish() {
        finished.set(())
    }
}

/// Sends request messages of a call. Sends may come from several tasks; each waits while the
/// server is slow.
public struct RequestWriter<Message: Sendable>: Sendable {
    let channel: RequestChannel<Message>

    /// Sends a message, waiting while the server is slow. Throws once the call has ended or
    /// the requests were finished.
    public func send(_ message: Message) async throws {
        try await channel.send(message, compressed: true)
    }

    /// Sends a message; `compressed: false` sends it uncompressed even when the call has an
    /// encoding.
    public func send(_ message: Message, compressed: Bool) async throws {
        try await channel.send(message, compressed: compressed)
    }

    /// Half-closes: no more requests.
    public func finish() {
        channel.finish()
    }
}

/// A client-streaming call driven by a writer: send requests, finish, then await the response.
public struct ClientStreamingCall<Request: Sendable, Response: Sendable>: Sendable {
    /// Where the caller sends the requests.
    public let requests: RequestWriter<Request>
    let result: Task<UnaryResponse<Response>, any Error>

    init(requests: RequestWriter<Request>, result: Task<UnaryResponse<Response>, any Error>) {
        self.requests = requests
        self.result = result
    }

    /// The single response, after the requests are finished.
    public var response: UnaryResponse<Response> {
        get async throws { try await result.value }
    }

    /// Cancels the call.
    public func cancel() {
        result.cancel()
    }
}

/// A bidirectional call driven by a writer, with its response stream.
public struct BidirectionalStreamingCall<Request: Sendable, Response: Sendable>: Sendable {
    /// Where the caller sends the requests.
    public let requests: RequestWriter<Request>
    /// The server's responses.
    public let responses: StreamingResponse<Response>

    init(requests: RequestWriter<Request>, responses: StreamingResponse<Response>) {
        self.requests = requests
        self.responses = responses
    }
}
