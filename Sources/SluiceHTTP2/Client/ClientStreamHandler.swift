import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice

/// Runs one gRPC call on one HTTP/2 stream of a client connection.
///
/// Writes the request HEADERS when the stream becomes active, followed by whatever the call
/// has already put in its request ``Outbox`` (for a unary call, the request and the end of
/// stream, all in one flush), then drains the outbox as the call writes. Reads response
/// HEADERS, DATA and trailers and delivers them to the call's ``ClientStreamSink``, holding
/// back `read()` while the call is behind.
final class ClientStreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum ResponseState {
        case awaitingHeaders
        case receivingMessages
        case ended
    }

    private let head: RequestHead
    private let sink: ClientStreamSink
    /// The call's request outbox, which the handle owns.
    private var requests: Outbox<ByteBuffer> { handle.requests }
    private let handle: ClientStreamHandle
    private let connection: ClientConnection
    private let scheme: String
    private let authority: String
    private let maxReceiveMessageSize: Int
    private var state = ResponseState.awaitingHeaders
    private var deframer: MessageDeframer
    private var responseEncoding: CompressionAlgorithm?
    private var httpStatus: Int?
    private var context: ChannelHandlerContext?
    private var io = StreamIO()
    private var requestsClosed = false
    /// The outbox's other buffer, swapped in on every drain.
    private var drained: [ByteBuffer] = []

    init(head: RequestHead, sink: ClientStreamSink, handle: ClientStreamHandle,
         connection: ClientConnection, scheme: String, authority: String, maxReceiveMessageSize: Int) {
        self.head = head
        self.sink = sink
        self.handle = handle
        self.connection = connection
        self.scheme = scheme
        self.authority = authority
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.deframer = MessageDeframer(maxMessageSize: maxReceiveMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        handle.attach(NIOLoopBound(self, eventLoop: context.eventLoop))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        handle.detach()
        requests.close()
        connection.releaseStream()
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        guard !sink.hasEnded else {
            // Cancelled while the stream was being opened: nothing goes out.
            state = .ended
            context.close(promise: nil)
            return
        }
        let headers = GRPCHeaders.request(head, scheme: scheme, authority: authority)
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        if requests.attach(scheduleDrain: { eventLoop.execute { loop.value.drainRequests() } }) {
            drainRequests()
        } else {
            context.flush()
        }
    }

    // MARK: Requests

    /// Writes what the call queued, then flushes once.
    private func drainRequests() {
        guard let context else { return }
        let end = requests.take(into: &drained)
        guard state != .ended, !requestsClosed else {
            drained.removeAll(keepingCapacity: true)
            return
        }
        var batch = DataBatcher()
        for framed in drained {
            if let full = batch.add(framed) {
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(full)))), promise: nil)
            }
        }
        drained.removeAll(keepingCapacity: true)
        if end {
            requestsClosed = true
            // The end of stream rides on the last DATA frame, or an empty one.
            let last = batch.take() ?? context.channel.allocator.buffer(capacity: 0)
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(last), endStream: true))), promise: nil)
        } else if let last = batch.take() {
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(last)))), promise: nil)
        }
        context.flush()
        requests.setWritable(context.channel.isWritable)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        requests.setWritable(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    /// The client cancelled: RST_STREAM CANCEL.
    func cancel() {
        requests.close()
        guard let context, state != .ended else { return }
        state = .ended
        context.writeAndFlush(wrapOutboundOut(.rstStream(.cancel)), promise: nil)
    }

    // MARK: Responses

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            receiveHeaders(headers.headers, endStream: headers.endStream)
        case .data(let data):
            guard state == .receivingMessages, case .byteBuffer(let buffer) = data.data else {
                if state == .awaitingHeaders {
                    end(RPCError(code: .internal, message: "DATA before response headers"), trailers: [:])
                }
                return
            }
            deframer.append(buffer)
            deliverMessages(context: context)
            if data.endStream {
                // The server must end with trailers; a bare end of stream has no status.
                end(RPCError(code: .internal, message: "the server ended the stream without trailers"), trailers: [:])
            }
        case .rstStream(let code):
            end(RPCError(code: StatusMapping.code(forReset: code), message: "the server reset the stream (\(code))"),
                trailers: [:])
        default:
            break
        }
    }

    private func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        switch state {
        case .awaitingHeaders:
            let status = headers.first(name: ":status").flatMap { Int($0) }
            httpStatus = status
            if endStream {
                // Trailers-Only.
                end(GRPCHeaders.status(from: headers, httpStatus: status), trailers: GRPCHeaders.metadata(from: headers))
                return
            }
            guard status == 200 else {
                let code = status.map(StatusMapping.code(forHTTPStatus:)) ?? .unknown
                end(RPCError(code: code, message: "HTTP status \(status.map(String.init) ?? "missing")"), trailers: [:])
                return
            }
            guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
                end(RPCError(code: .unknown, message: "response content-type is not application/grpc"), trailers: [:])
                return
            }
            if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
                guard MessageCompression.isSupported(encoding) else {
                    end(RPCError(code: .internal, message: "the server used unsupported encoding '\(encoding)'"), trailers: [:])
                    return
                }
                responseEncoding = CompressionAlgorithm(name: encoding)
            }
            state = .receivingMessages
            sink.receive(.headers(GRPCHeaders.metadata(from: headers)))
        case .receivingMessages:
            // Trailers.
            do {
                try deframer.finish()
            } catch {
                end(RPCError(code: .internal, message: "the response ended inside a message"), trailers: [:])
                return
            }
            end(GRPCHeaders.status(from: headers, httpStatus: httpStatus), trailers: GRPCHeaders.metadata(from: headers))
        case .ended:
            break
        }
    }

    private func deliverMessages(context: ChannelHandlerContext) {
        while state == .receivingMessages {
            let message: MessageDeframer.Message?
            do {
                message = try deframer.next()
            } catch {
                let failure: RPCError
                if case .messageTooLarge(let length, let limit) = error {
                    failure = RPCError(code: .resourceExhausted, message: "response message of \(length) bytes exceeds the \(limit)-byte limit")
                } else {
                    failure = RPCError(code: .internal, message: "malformed response message: \(error)")
                }
                context.writeAndFlush(wrapOutboundOut(.rstStream(.cancel)), promise: nil)
                end(failure, trailers: [:])
                return
            }
            guard let message else { return }
            var bytes = message.bytes
            if message.compressed {
                guard let encoding = responseEncoding else {
                    context.writeAndFlush(wrapOutboundOut(.rstStream(.cancel)), promise: nil)
                    end(RPCError(code: .internal, message: "compressed response without grpc-encoding"), trailers: [:])
                    return
                }
                do {
                    bytes = try MessageCompression.decompress(bytes, with: encoding, limit: maxReceiveMessageSize,
                                                              allocator: context.channel.allocator)
                } catch {
                    context.writeAndFlush(wrapOutboundOut(.rstStream(.cancel)), promise: nil)
                    end(error as? RPCError ?? RPCError(code: .internal, message: "\(error)"), trailers: [:])
                    return
                }
            }
            if !sink.receive(.message(SerializedMessage(Array(bytes.readableBytesView), compressed: message.compressed))) {
                io.pauseReading()
            }
        }
    }

    private func end(_ error: RPCError?, trailers: Metadata) {
        guard state != .ended else { return }
        state = .ended
        requests.close()
        sink.receive(.end(error, trailers: trailers))
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(RPCError(code: .unavailable, message: "the stream closed before the call ended"), trailers: [:])
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(RPCError(code: .unavailable, message: "stream error: \(error)"), trailers: [:])
        context.close(promise: nil)
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if io.shouldRead() { context.read() }
    }

    func resumeReading() {
        if io.resume() { context?.read() }
    }
}
