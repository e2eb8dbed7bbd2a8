import NIOCore

/// Splits a stream of DATA payloads into gRPC Length-Prefixed-Messages (PROTOCOL-HTTP2.md:
/// a compressed-flag byte, a 4-byte big-endian length, the message), across any split of the
/// bytes into frames.
///
/// The size limit is checked against the length prefix, before the message is buffered, so a
/// peer announcing a huge message costs nothing.
struct MessageDeframer {
    enum DeframeError: Error, Equatable {
        case messageTooLarge(length: Int, limit: Int)
        /// The stream ended inside a message.
        case truncated
        case invalidCompressionFlag(UInt8)
    }

    /// A whole message as received, possibly compressed.
    struct Message: Equatable {
        var compressed: Bool
        var bytes: ByteBuffer
    }

    let maxMessageSize: Int
    private var buffer: ByteBuffer?

    init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Adds received bytes.
    mutating func append(_ data: ByteBuffer) {
        if buffer == nil {
            buffer = data
        } else {
            var data = data
            buffer!.writeBuffer(&data)  // just checked non-nil
        }
    }

    /// The next complete message, or nil until more bytes arrive.
    mutating func next() throws(DeframeError) -> Message? {
        guard var buffer = self.buffer, buffer.readableBytes >= 5 else { return nil }
        // Peek first: consume nothing until the whole message is here.
        guard let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag <= 1 else { throw .invalidCompressionFlag(flag) }
        guard Int(length) <= maxMessageSize else { throw .messageTooLarge(length: Int(length), limit: maxMessageSize) }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        // Length and readability were checked above.
        let message = buffer.readSlice(length: Int(length))!
        self.buffer = buffer.readableBytes == 0 ? nil : buffer
        return Message(compressed: flag == 1, bytes: message)
    }

    /// Called at end of stream: leftover bytes mean a message was cut short.
    func finish() throws(DeframeError) {
        if let buffer, buffer.readableBytes > 0 { throw .truncated }
    }
}

enum MessageFramer {
    /// Frames one message into a buffer: flag, length, bytes.
    static func frame(_ message: some Collection<UInt8>, compressed: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(compressed ? UInt8(1) : 0)
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}
