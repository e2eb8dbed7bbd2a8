/// Writes messages of one RPC direction. A closure underneath, so interceptors can wrap it.
public struct MessageWriter<Message: Sendable>: Sendable {
    private let sink: @Sendable (Message) async throws -> Void

    public init(_ sink: @escaping @Sendable (Message) async throws -> Void) {
        self.sink = sink
    }

    /// Writes one message, waiting while the peer is slow.
    public func write(_ message: Message) async throws {
        try await sink(message)
    }

    /// Writes each message in order.
    public func write(contentsOf messages: some Sequence<Message>) async throws {
        for message in messages { try await sink(message) }
    }
}
