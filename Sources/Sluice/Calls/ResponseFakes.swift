import Synchronization

// Public ways to build every kind of client call's result without a transport: what a fake
// conforming to a generated `ClientProtocol` returns. A unary or client-streaming fake returns
// a ``UnaryResponse``; these cover the streaming kinds.

extension StreamingResponse {
    /// A response that plays back `messages`, then ends with `error` (nil for OK) and
    /// `trailers`, as a server that sent them would. An error thrown by `messages` itself ends
    /// the call with it (as UNKNOWN unless it is an ``RPCError``).
    ///
    ///     func listJobs(_ request: ListRequest, ...) async throws -> StreamingResponse<Job> {
    ///         StreamingResponse(messages: [job1, job2], trailers: ["x-page": "1"])
    ///     }
    public init<Messages: AsyncSequence & Sendable>(
        messages: Messages, headers: Metadata = [:], trailers: Metadata = [:], error: RPCError? = nil
    ) where Messages.Element == Message {
        let end = OneShot<CallEnd>()
        let headerValue = OneShot<Metadata>()
        headerValue.set(headers)
        let played = PlayedBackMessages(base: messages, end: end, outcome: CallEnd(error: error, trailers: trailers))
        self.init(StreamingClientResponse(
            headers: headerValue, messages: played, end: end,
            cancel: { end.set(CallEnd(error: RPCError(code: .cancelled, message: "cancelled by the client"), trailers: [:])) }))
    }

    /// A response that plays back the messages of an array, then ends with `error` (nil for
    /// OK) and `trailers`.
    public init(messages: [Message], headers: Metadata = [:], trailers: Metadata = [:], error: RPCError? = nil) {
        self.init(messages: ArrayOfMessages(elements: messages), headers: headers, trailers: trailers, error: error)
    }

    /// A response over the parts an interceptor or transport produced.
    public init(_ response: StreamingClientResponse<Message>) {
        self.init(response, released: nil)
    }
}

extension ClientStreamingCall {
    /// A call answered by `respond`, which reads what the caller sends through ``requests``
    /// (the sequence ends when the caller finishes) and returns the response, or throws an
    /// ``RPCError`` to fail the call.
    ///
    ///     ClientStreamingCall { uploads in
    ///         var count = 0
    ///         for try await _ in uploads { count += 1 }
    ///         return UnaryResponse(message: Summary.with { $0.count = count }, headers: [:], trailers: [:])
    ///     }
    public init(respondingWith respond: @escaping @Sendable (RequestStream<Request>) async throws -> UnaryResponse<Response>) {
        let requests = FakeRequests<Request>()
        let result = Task {
            do {
                return try await respond(requests.stream)
            } catch let error as RPCError {
                throw error
            } catch is CancellationError {
                throw RPCError(code: .cancelled, message: "the call was cancelled")
            } catch {
                throw RPCError(code: .unknown, message: "\(error)")
            }
        }
        self.init(requests: requests.writer, result: result)
    }
}

extension BidirectionalStreamingCall {
    /// A call answered by `respond`, which reads what the caller sends through ``requests``,
    /// writes responses, and returns the trailers; throwing an ``RPCError`` ends the call with
    /// it after the responses already written.
    ///
    ///     BidirectionalStreamingCall { messages, replies in
    ///         for try await message in messages { try await replies.write(echo(message)) }
    ///         return [:]
    ///     }
    public init(headers: Metadata = [:],
                respondingWith respond: @escaping @Sendable (RequestStream<Request>, MessageWriter<Response>) async throws -> Metadata) {
        let requests = FakeRequests<Request>()
        let responses = makeRPCStream(of: Response.self)
        let end = OneShot<CallEnd>()
        let headerValue = OneShot<Metadata>()
        headerValue.set(headers)
        let finish: @Sendable (CallEnd) -> Void = { outcome in
            guard end.set(outcome) else { return }
            if let error = outcome.error { responses.writer.finish(throwing: error) } else { responses.writer.finish() }
        }
        let task = Task {
            do {
                let trailers = try await respond(requests.stream, MessageWriter { try await responses.writer.write($0) })
                finish(CallEnd(error: nil, trailers: trailers))
            } catch let error as RPCError {
                finish(CallEnd(error: error, trailers: error.metadata))
            } catch {
                finish(CallEnd(error: RPCError(code: .unknown, message: "\(error)"), trailers: [:]))
            }
        }
        let response = StreamingClientResponse(
            headers: headerValue, messages: responses.sequence, end: end,
            cancel: {
                task.cancel()
                finish(CallEnd(error: RPCError(code: .cancelled, message: "cancelled by the client"), trailers: [:]))
            })
        self.init(requests: requests.writer, responses: StreamingResponse(response, released: { requests.channel.finish() }))
    }
}

/// The request side of a faked writer-driven call: the caller's ``RequestWriter`` on one end,
/// the fake's ``RequestStream`` on the other, through a bounded pipe.
private struct FakeRequests<Message: Sendable>: Sendable {
    let channel = RequestChannel<Message>()
    let stream: RequestStream<Message>
    let writer: RequestWriter<Message>

    init() {
        let pipe = makeRPCStream(of: Message.self)
        stream = RequestStream(pipe.sequence)
        writer = RequestWriter(channel: channel)
        let producer = channel.producer
        // Lends the pipe's writer to the caller's sends until the caller finishes.
        Task {
            try? await producer(MessageWriter { try await pipe.writer.write($0) })
            pipe.writer.finish()
        }
    }
}

/// An array as an async sequence, for ``StreamingResponse/init(messages:headers:trailers:error:)``.
private struct ArrayOfMessages<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        mutating func next() async -> Element? { base.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: elements.makeIterator()) }
}

/// Messages from any async sequence, then the call's end: sets `end` when the sequence runs
/// out or fails, and stops with CANCELLED once the call was cancelled.
private struct PlayedBackMessages<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    typealias Element = Base.Element
    let base: Base
    let end: OneShot<CallEnd>
    let outcome: CallEnd

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let end: OneShot<CallEnd>
        let outcome: CallEnd

        mutating func next() async throws -> Element? {
            if let ended = end.peek() {
                if let error = ended.error { throw error }
                return nil
            }
            do {
                if let message = try await base.next() { return message }
                end.set(outcome)
            } catch {
                let failure = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
                end.set(CallEnd(error: failure, trailers: failure.metadata))
            }
            // The end set first wins: a cancel racing the last message is the call's end.
            if let error = end.peek()?.error { throw error }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), end: end, outcome: outcome)
    }
}
