import NIOCore

/// Advertises a lower SETTINGS_MAX_CONCURRENT_STREAMS than swift-nio-http2 enforces, so that
/// streams past the advertised limit are refused one by one instead of killing the connection.
///
/// RFC 9113 (5.1.2) makes a stream past the limit a stream error (REFUSED_STREAM lets the
/// client retry it safely), and grpc-go refuses such streams. swift-nio-http2 1.46, used
/// without its multiplexer, treats it as a connection error: one stream too many ended every
/// call on the connection. It takes its local limit from the SETTINGS it sends, so the server
/// configures it with a higher limit (``enforcedLimit(advertising:)``) and this handler,
/// between swift-nio-http2 and the socket, rewrites that one value in the first SETTINGS frame
/// on its way out, then leaves the pipeline. The ``StreamTable`` refuses streams past the
/// advertised limit with RST_STREAM REFUSED_STREAM. A client more than the headroom past the
/// limit still meets swift-nio-http2's connection error, which such a peer has earned.
final class AdvertisedStreamLimit: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// What the peer is told.
    let advertised: Int
    /// What swift-nio-http2 was configured with, and is rewritten.
    let enforced: Int

    /// The limit swift-nio-http2 is given for an advertised one: twice it, at least 100 more.
    static func enforcedLimit(advertising limit: Int) -> Int {
        limit + max(100, limit)
    }

    init(advertised: Int) {
        self.advertised = advertised
        self.enforced = Self.enforcedLimit(advertising: advertised)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let found = Self.rewriteFirstSettings(in: &buffer, from: enforced, to: advertised)
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        // Only after the write: a handler that has left the pipeline writes nothing.
        if found { context.pipeline.syncOperations.removeHandler(self, promise: nil) }
    }

    /// Finds the first SETTINGS frame at the start of `buffer` (the server's preface is its
    /// first write) and replaces MAX_CONCURRENT_STREAMS `from` with `to`. Returns whether a
    /// SETTINGS frame was found, rewritten or not: after it there is nothing to look for.
    static func rewriteFirstSettings(in buffer: inout ByteBuffer, from: Int, to: Int) -> Bool {
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start, as: UInt32.self).map({ Int($0 >> 8) }),
              let type = buffer.getInteger(at: start + 3, as: UInt8.self) else { return false }
        guard type == 0x4, buffer.readableBytes >= 9 + length else { return false }
        var offset = start + 9
        while offset + 6 <= start + 9 + length {
            if buffer.getInteger(at: offset, as: UInt16.self) == 0x3,
               buffer.getInteger(at: offset + 2, as: UInt32.self) == UInt32(from) {
                buffer.setInteger(UInt32(to), at: offset + 2)
            }
            offset += 6
        }
        return true
    }
}
