import SluiceProto

/// What decoding reports to: the call's own state object on each side, so that decoded
/// sequences stay small enough (three words) to sit inside an `any AsyncSequence` without a
/// box of their own.
protocol MessageDecodingObserver: AnyObject, Sendable {
    /// The largest message accepted, in bytes.
    var receiveLimit: Int { get }
    /// How the call's messages are serialized.
    var messageFormat: MessageFormat { get }
    /// A message of `bytes` (serialized) was read, compressed or not: what
    /// `lastMessageWasCompressed` reports.
    func received(compressed: Bool, bytes: Int)
    /// A message was too large or malformed; the call should end with `error`.
    func decodingFailed(_ error: RPCError)
}

/// Serialized messages decoded as they are read, with the receive size limit.
struct DecodedMessages<Message: SluiceProto.Message>: AsyncSequence, Sendable {
    let bytes: RPCAsyncSequence<SerializedMessage>
    let observer: any MessageDecodingObserver

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RPCAsyncSequence<SerializedMessage>.AsyncIterator
        let observer: any MessageDecodingObserver

        mutating func next() async throws -> Message? {
            guard let received = try await base.next() else { return nil }
            return try DecodedMessages.decode(received, observer: observer)
        }
    }

    /// One message decoded, within the observer's receive limit; a message too large or
    /// malformed fails the call through the observer.
    static func decode(_ received: SerializedMessage, observer: any MessageDecodingObserver) throws -> Message {
        observer.received(compressed: received.compressed, bytes: received.bytes.count)
        let limit = observer.receiveLimit
        if received.bytes.count > limit {
            let error = RPCError(code: .resourceExhausted,
                                 message: "message of \(received.bytes.count) bytes exceeds the \(limit)-byte limit")
            observer.decodingFailed(error)
            throw error
        }
        do {
            return try observer.messageFormat.deserialize(Message.self, from: received.bytes)
        } catch {
            let failure = RPCError(code: .internal, message: "could not decode \(Message.protoMessageName): \(error)")
            observer.decodingFailed(failure)
            throw failure
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: bytes.makeAsyncIterator(), observer: observer)
    }
}

/// The response messages of a call whose attempt is chosen later (a retried streaming call):
/// they are read, and decoded, straight from the committed attempt's stream once it is known.
struct CommittedAttemptMessages<Message: SluiceProto.Message>: AsyncSequence, Sendable {
    let committed: OneShot<ClientStream>
    let observer: any MessageDecodingObserver

    struct AsyncIterator: AsyncIteratorProtocol {
        let committed: OneShot<ClientStream>
        let observer: any MessageDecodingObserver
        var base: RPCAsyncSequence<SerializedMessage>.AsyncIterator?

        mutating func next() async throws -> Message? {
            if base == nil {
                let committed = self.committed
                let observer = self.observer
                // A reader cancelled before any attempt committed cancels the call, as leaving
                // a stream does; the call then commits to its end, which wakes this wait.
                let stream = await withTaskCancellationHandler {
                    await committed.value
                } onCancel: {
                    observer.decodingFailed(RPCError(code: .cancelled, message: "the reading task was cancelled"))
                }
                base = stream.messages.makeAsyncIterator()
            }
            guard let received = try await base?.next() else { return nil }
            return try DecodedMessages<Message>.decode(received, observer: observer)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(committed: committed, observer: observer)
    }
}
