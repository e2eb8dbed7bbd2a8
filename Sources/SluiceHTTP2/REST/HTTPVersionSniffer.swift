import NIOCore

/// Tells an HTTP/2 connection from an HTTP/1.1 one by its first bytes, on a port that serves
/// gRPC and REST together: a client speaking HTTP/2 (with prior knowledge, or after TLS's
/// ALPN) opens with the 24-byte connection preface, which no HTTP/1.1 request line begins
/// with. Once the bytes differ from the preface, or all 24 match, the pipeline is built for
/// that protocol after this handler, which replays what it held and leaves.
///
/// It holds at most 24 bytes, and closes a connection that has not decided by the handshake
/// timeout, so a client trickling a partial preface costs no more here than it would the
/// HTTP/2 handlers' own handshake deadline.
final class HTTPVersionSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The protocol a connection speaks.
    enum Version {
        case http2
        case http1
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var held: ByteBuffer?
    private let timeout: Duration?
    private var timer: Scheduled<Void>?
    /// Adds the protocol's handlers after this one; throws to close the connection.
    private let configure: (Version, any Channel) throws -> Void

    init(timeout: Duration?, configure: @escaping (Version, any Channel) throws -> Void) {
        self.timeout = timeout
        self.configure = configure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let timeout else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                                + timeout.components.attoseconds / 1_000_000_000)) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var held = self.held {
            held.writeBuffer(&buffer)
            buffer = held
        }
        let bytes = buffer.readableBytesView.prefix(Self.preface.count)
        let isPrefix = bytes.elementsEqual(Self.preface.prefix(bytes.count))
        guard !isPrefix || bytes.count == Self.preface.count else {
            held = buffer
            return
        }
        held = nil
        do {
            try configure(isPrefix ? .http2 : .http1, context.channel)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(buffer))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
