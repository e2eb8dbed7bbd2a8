import NIOCore

/// Sits between the socket (or TLS) and the HTTP/2 handler and notes when a HEADERS or DATA
/// frame actually leaves the connection.
///
/// Keepalive enforcement resets its strikes on data sent, and "sent" must mean on the wire, as
/// in grpc-go (whose loopy writer resets them on each data frame it writes): data queued
/// behind flow control goes out only when the client's WINDOW_UPDATE arrives, which grpc-go
/// clients send right before each bandwidth-estimation ping.
final class OutboundFrameObserver: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var parser = FrameBoundaryParser()
    private let activity: ConnectionActivity

    init(activity: ConnectionActivity) {
        self.activity = activity
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer):
            if parser.consume(buffer.readableBytesView) { activity.noteDataSent() }
        case .fileRegion(let region):
            parser.skip(region.readableBytes)
        }
        context.write(data, promise: promise)
    }
}

/// Follows HTTP/2 frame boundaries (RFC 9113 §4.1: 24-bit length, 8-bit type, flags, stream
/// id, then the payload) through bytes written in pieces of any size.
struct FrameBoundaryParser {
    private var header: [UInt8] = []
    private var payloadLeft = 0

    /// Consumes written bytes; true if a HEADERS (0x1) or DATA (0x0) frame began in them.
    mutating func consume(_ bytes: some Collection<UInt8>) -> Bool {
        var sawData = false
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if payloadLeft > 0 {
                let step = min(payloadLeft, bytes.distance(from: index, to: bytes.endIndex))
                payloadLeft -= step
                index = bytes.index(index, offsetBy: step)
                continue
            }
            header.append(bytes[index])
            index = bytes.index(after: index)
            if header.count == 9 {
                payloadLeft = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                if header[3] <= 1 { sawData = true }
                header.removeAll(keepingCapacity: true)
            }
        }
        return sawData
    }

    /// Bytes written without being looked at (a file region): payload, by construction.
    mutating func skip(_ count: Int) {
        payloadLeft = max(0, payloadLeft - count)
    }
}
