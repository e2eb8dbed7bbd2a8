/// Writes messages of one RPC direction. A closure underneath, so interceptors can wrap it.
public struct MessageWriter<Message: Sendable>: Sendable {
    private let sink: @Sendable (Message, _ compressed: Bool) async throws -> Void

    /// A writer that sends every message with the call's encoding.
    public init(_ sink: @escaping @Sendable (Message) async throws -> Void) {
        self.sink = { message, _ in try await sink(message) }
    }

    /// A writer that passes on each message's compression flag (see ``write(_:compressed:)``).
    public init(compressible sink: @escaping @Sendable (Message, _ compressed: Bool) async throws -> Void) {
        self.sink = sink
    }

    /// Writes one message, waiting while the peer is slow.
    public func write(_ message: Message) async throws {
        try await sink(message, true)
    }

    /// Writes one message; `compressed: false` sends it uncompressed even when the call has an
    /// encoding (as grpc-java's `setMessageCompression(false)` does): for messages that do not
    /// compress, or whose contents must not share a compression context with secrets.
    public func write(_ message: Message, compressed: Bool) async throws {
        try await sink(message, compressed)
    }

    /// Writes each message in order.
    public func write(contentsOf messages: some Sequence<Message>) async throws {
        for message in messages { try await sink(message, true) }
    }
}
