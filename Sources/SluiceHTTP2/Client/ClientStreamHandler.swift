import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice

/// Runs one gRPC call on one HTTP/2 stream of a client connection.
///
/// Writes the request HEADERS when the stream becomes active, then request messages as the
/// call writes them; reads response HEADERS, DATA and trailers and delivers them to the call's
/// ``ClientStreamSink``, holding back `read()` while the call is behind.
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
    private var writabilityWaiters: [EventLoopPromise<Void>] = []

    init(head: RequestHead, sink: ClientStreamSink, scheme: String, authority: String, maxReceiveMessageSize: Int) {
        self.head = head
        self.sink = sink
        self.scheme = scheme
        self.authority = authority
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.deframer = MessageDeframer(maxMessageSize: maxReceiveMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let headers = GRPCHeaders.request(head, scheme: scheme, authority: authority)
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        startSendingRequests(context: context)
        context.fireChannelActive()
    }

    // MARK: Requests

    /// Pumps the call's request messages onto the stream, waiting for writability.
    private func startSendingRequests(context: ChannelHandlerContext) {
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let requests = sink.requests
        let compression = head.compression.flatMap { $0 == .identity ? nil : $0 }
        let allocator = context.channel.allocator
        let outbound = self.outbound
        Task {
            do {
                for try await bytes in requests {
                    let framed: ByteBuffer
                    if let compression {
                        let compressed = try MessageCompression.compress(bytes, with: compression, allocator: allocator)
                        framed = MessageFramer.frame(compressed.readableBytesView, compressed: true, allocator: allocator)
                    } else {
                        framed = MessageFramer.frame(bytes, compressed: false, allocator: allocator)
                    }
                    // Queue without waiting, but wait for the loop (and writability) every
                    // `maxQueuedWrites` messages, so the queue stays bounded.
                    if outbound.shouldWait() {
                        try await eventLoop.flatSubmit { loop.value.writabilityFuture(on: eventLoop) }.get()
                    }
                    eventLoop.execute { loop.value.writeRequest(framed) }
                }
                eventLoop.execute { loop.value.closeRequests() }
            } catch {
                // The call ended or was cancelled; its status is already on its way.
            }
        }
    }

    private let outbound = OutboundState()
    private func writeRequest(_ framed: ByteBuffer) {
        guard let context, state != .ended, !requestsClosed else { return }
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
        scheduleFlush(context)
        outbound.writable.store(context.channel.isWritable, ordering: .relaxed)
    }

    /// One flush for all the writes queued on the loop before it runs.
    private func scheduleFlush(_ context: ChannelHandlerContext) {
        guard io.needsFlushScheduled() else { return }
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loop.value.io.flushed()
            loop.value.context?.flush()
        }
    }

    private func writabilityFuture(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context, state != .ended, !requestsClosed else {
            return eventLoop.makeFailedFuture(CancellationError())
        }
        if context.channel.isWritable { return eventLoop.makeSucceededVoidFuture() }
        context.flush()
        let promise = eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        return promise.futureResult
    }

    private func closeRequests() {
        guard let context, !requestsClosed, state != .ended else { return }
        requestsClosed = true
        // The end of stream rides on its own empty DATA frame, flushed with what came before.
        let empty = context.channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(empty), endStream: true))), promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        outbound.writable.store(context.channel.isWritable, ordering: .relaxed)
        if context.channel.isWritable {
            let waiters = writabilityWaiters
            writabilityWaiters = []
            for waiter in waiters { waiter.succeed() }
        }
        context.fireChannelWritabilityChanged()
    }

    /// The client cancelled: RST_STREAM CANCEL.
    func cancel() {
        guard let context, state != .ended else { return }
        state = .ended
        context.writeAndFlush(wrapOutboundOut(.rstStream(.cancel)), promise: nil)
        failWaiters()
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
            if !sink.receive(.message(Array(bytes.readableBytesView))) {
                io.pauseReading()
            }
        }
    }

    private func end(_ error: RPCError?, trailers: Metadata) {
        guard state != .ended else { return }
        state = .ended
        sink.receive(.end(error, trailers: trailers))
        failWaiters()
    }

    private func failWaiters() {
        let waiters = writabilityWaiters
        writabilityWaiters = []
        for waiter in waiters { waiter.fail(CancellationError()) }
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
