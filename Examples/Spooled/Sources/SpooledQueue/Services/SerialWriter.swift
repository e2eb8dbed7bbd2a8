import Sluice

/// Serializes the writes of several tasks onto one `MessageWriter`, each sender waiting until
/// its message is written. A sender has at most one message queued, so what is buffered is
/// bounded by the number of senders, never by how much the peer sends while it does not read.
final class SerialWriter<Message: Sendable>: Sendable {
    private typealias Item = (message: Message, written: CheckedContinuation<Void, any Error>)
    private let items: AsyncStream<Item>
    private let input: AsyncStream<Item>.Continuation

    init() {
        (items, input) = AsyncStream.makeStream(of: Item.self)
    }

    /// Writes `message` after those sent before it.
    /// - Throws: the writer's error, or `CancellationError` once the writer has stopped.
    func send(_ message: Message) async throws {
        try await withCheckedThrowingContinuation { (written: CheckedContinuation<Void, any Error>) in
            if case .terminated = input.yield((message, written)) { written.resume(throwing: CancellationError()) }
        }
    }

    /// Writes what is sent until ``finish()``; the first failed write fails every sender.
    func run(into writer: MessageWriter<Message>) async throws {
        var failure: (any Error)?
        for await item in items {
            if let failure {
                item.written.resume(throwing: failure)
                continue
            }
            do {
                try await writer.write(item.message)
                item.written.resume()
            } catch {
                failure = error
                item.written.resume(throwing: error)
                input.finish()
            }
        }
        if let failure { throw failure }
    }

    /// Ends ``run(into:)`` once what was sent is written.
    func finish() {
        input.finish()
    }
}
