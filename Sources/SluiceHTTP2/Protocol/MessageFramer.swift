import NIOCore
import Sluice

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
        append(message, compressed: compressed, to: &buffer)
        return buffer
    }

    /// Frames one message, compressed with `encoding` if it has one and the message asks for it.
    static func frame(_ message: SerializedMessage, encoding: CompressionAlgorithm?,
                      allocator: ByteBufferAllocator) throws -> ByteBuffer {
        guard let encoding, encoding != .identity, message.compressed else {
            return frame(message.bytes, compressed: false, allocator: allocator)
        }
        let compressed = try MessageCompression.compress(message.bytes, with: encoding, allocator: allocator)
        return frame(compressed.readableBytesView, compressed: true, allocator: allocator)
    }

    /// Frames one message at the end of `buffer`.
    static func append(_ message: some Collection<UInt8>, compressed: Bool, to buffer: inout ByteBuffer) {
        buffer.writeInteger(compressed ? UInt8(1) : 0)
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
    }

    /// Framed messages are gathered into one DATA frame up to this size: HTTP/2 costs the
    /// same per frame whatever its size, and a stream of small messages would otherwise pay
    /// it per message. (swift-nio-http2 splits frames to the peer's SETTINGS_MAX_FRAME_SIZE.)
    static let batchLimit = 64 * 1024
}

/// Gathers framed messages into as few DATA payloads as possible while a batch drains.
struct DataBatcher {
    private(set) var pending: ByteBuffer?

    /// Adds an already framed message; returns a full batch to write first, if adding would
    /// overflow ``MessageFramer/batchLimit``.
    mutating func add(_ framed: ByteBuffer) -> ByteBuffer? {
        guard var buffer = pending else {
            pending = framed
            return nil
        }
        if buffer.readableBytes + framed.readableBytes > MessageFramer.batchLimit {
            pending = framed
            return buffer
        }
        pending = nil  // keep the buffer uniquely referenced, so it grows in place
        var framed = framed
        buffer.writeBuffer(&framed)
        pending = buffer
        return nil
    }

    /// The batch gathered so far, leaving the batcher empty.
    mutating func take() -> ByteBuffer? {
        defer { pending = nil }
        return pending
    }
}
