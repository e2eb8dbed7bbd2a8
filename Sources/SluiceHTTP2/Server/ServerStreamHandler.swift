import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice
import Synchronization

/// Runs one gRPC call on one HTTP/2 stream of a server connection.
///
/// Inbound: request HEADERS become a ``RequestHead``, DATA is deframed into messages and
/// handed to the call through a pipe bounded in messages and bytes. When that pipe is full,
/// deframing stops (what arrives stays as received bytes, not as message objects) and the
/// stream table stops returning the stream's flow-control window, so the client is held back
/// after at most one window; both resume when the call has read half of what waits. Outbound: the
/// call's ``ResponsePart``s are written as HEADERS, DATA and trailers (Trailers-Only when the
/// status comes first). A reset or a vanished client cancels the call.
final class ServerStreamHandler: StreamEndpoint, OutboxDrainer {
    /// Starts the call's task; nil when the server no longer accepts calls.
    typealias Accept = @Sendable (ServerStream) -> Task<Void, Never>?

    enum State {
        case idle
        /// Reading requests.
        case open(requests: RPCWriter<SerializedMessage>)
        /// A REST request (see ServerStreamHandler+REST.swift): its body is being read.
        case readingREST(RESTRequest)
        /// The client half-closed; responses may still go out.
        case halfClosed
        case closed
    }

    let accept: Accept
    private let maxReceiveMessageSize: Int
    let peer: String
    var state = State.idle
    /// REST/JSON for requests that are not gRPC, when the transport serves it.
    let rest: RESTTranscoder?
    /// The stream answers a REST request: parts are written as plain HTTP, not gRPC.
    var answersREST = false
    private var deframer: MessageDeframer
    private var requestEncoding: CompressionAlgorithm?
    /// The request's content subtype, which the response's content type repeats.
    private var messageFormat = MessageFormat.protobuf
    /// The request pipe is full: received bytes wait in the deframer until the call reads.
    private var deliveryPaused = false
    /// The client ended its requests, but messages still wait in the deframer.
    private var endOfRequestsPending = false
    /// Bytes of requests the pipe holds before the client is held back.
    private let pipeByteLimit: Int
    var task: Task<Void, Never>?
    /// The call, accepted but not yet started: it starts once the read that brought its
    /// HEADERS is done, so a unary request that came in the same read (as it usually does) is
    /// already waiting in the pipe and the handler never parks for it, which would cost a
    /// thread hop and dispatch's allocations to wake it.
    private var pendingStart: ServerStream?
    let table: StreamTable<ServerStreamHandler>
    let streamID: HTTP2StreamID

    // Response side: the call's task queues parts in the outbox; the loop drains them.
    let responses: Outbox<ResponsePart>
    /// The outbox's other buffer, swapped in on every drain.
    private var drained = InlineBatch<ResponsePart>()
    var headersSent = false
    private var responseEncoding: CompressionAlgorithm?
    var ended = false
    /// A drain found the stream unwritable and left the parts in the outbox, for
    /// ``writabilityChanged()`` to write once the peer's window opens.
    private var drainDeferred = false

    init(table: StreamTable<ServerStreamHandler>, streamID: HTTP2StreamID, accept: @escaping Accept,
         maxReceiveMessageSize: Int, pipeByteLimit: Int, outboxByteLimit: Int, peer: String, rest: RESTTranscoder? = nil) {
        self.rest = rest
        self.responses = Outbox(byteLimit: outboxByteLimit, weigh: { part in
            if case .message(let message) = part { return message.bytes.count }
            return 0
        })
        self.table = table
        self.streamID = streamID
        self.accept = accept
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.pipeByteLimit = pipeByteLimit
        self.peer = peer
        self.deframer = MessageDeframer(maxMessageSize: maxReceiveMessageSize)
    }

    // MARK: - Inbound

    func receive(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers):
            if case .idle = state {
                receiveRequestHeaders(headers.headers, endStream: headers.endStream)
            } else if case .readingREST(let request) = state, headers.endStream {
                // A REST request's trailers end its body.
                startREST(request)
            } else if headers.endStream {
                // Trailers from the client carry nothing gRPC uses: treat as half-close, once
                // the messages before them are delivered.
                endOfRequestsPending = true
                if !deliveryPaused { receiveEndOfRequests() }
            }
        case .data(let data):
            if case .readingREST = state {
                receiveRESTBody(data)
                return
            }
            guard case .open = state, case .byteBuffer(let buffer) = data.data else {
                if data.endStream { receiveEndOfRequests() }
                return
            }
            deframer.append(buffer)
            if data.endStream { endOfRequestsPending = true }
            guard !deliveryPaused else { return }
            deliverMessages()
            if endOfRequestsPending && !deliveryPaused { receiveEndOfRequests() }
        case .rstStream:
            abort(RPCError(code: .cancelled, message: "the client reset the stream"))
        default:
            break
        }
    }

    func streamClosed(_ cause: StreamCloseCause) {
        abort(RPCError(code: .cancelled, message: cause.reason))
        responses.close()
    }

    func writabilityChanged() {
        let writable = table.isWritable(streamID)
        responses.setWritable(writable)
        // Parts left queued while the stream could not take them go out now.
        if writable && drainDeferred { drainResponses() }
    }

    /// The call read half of what waited: deframe what arrived meanwhile, then let the client
    /// send again, unless that filled the pipe once more.
    func resumeReading() {
        guard deliveryPaused else { return }
        deliveryPaused = false
        deliverMessages()
        guard !deliveryPaused else { return }
        if endOfRequestsPending { receiveEndOfRequests() }
        table.resumeReading(streamID)
    }

    // MARK: Request handling

    private func receiveRequestHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        let contentType = headers.first(name: "content-type").map(GRPCHeaders.messageFormat(contentType:)) ?? .notGRPC
        if contentType == .notGRPC, rest != nil {
            receiveRESTHeaders(headers, endStream: endStream)
            return
        }
        guard headers.first(name: ":method") == "POST" else {
            rejectWithHTTPStatus("405", message: "gRPC requires POST")
            return
        }
        switch contentType {
        case .grpc(let format):
            messageFormat = format
        case .unsupported(let subtype):
            let supported = MessageFormat.allCases.map { "application/grpc+\($0.contentSubtype)" }.joined(separator: ", ")
            rejectWithHTTPStatus("415", message: "content subtype '\(subtype)' is not supported; use application/grpc, \(supported)")
            return
        case .notGRPC:
            rejectWithHTTPStatus("415", message: "content-type must be application/grpc")
            return
        }
        guard let path = headers.first(name: ":path"), let method = MethodDescriptor(path: path) else {
            rejectEarly(RPCError(code: .unimplemented, message: "malformed :path"))
            return
        }
        if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
            guard MessageCompression.isSupported(encoding) else {
                rejectEarly(RPCError(code: .unimplemented, message: "message encoding '\(encoding)' is not supported"))
                return
            }
            requestEncoding = CompressionAlgorithm(name: encoding)
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = headers.first(name: "grpc-timeout") {
            guard let duration = GRPCTimeout.parse(timeout) else {
                rejectEarly(RPCError(code: .internal, message: "malformed grpc-timeout '\(timeout)'"))
                return
            }
            deadline = .now + duration
        }
        var head = RequestHead(method: method, metadata: GRPCHeaders.metadata(from: headers), deadline: deadline,
                               compression: requestEncoding)
        head.acceptEncoding = GRPCHeaders.acceptedEncodings(headers)
        head.messageFormat = messageFormat

        guard let eventLoop = table.eventLoop else { return }
        let outbox = responses
        let requests = makeRPCStream(ofMessagesUpTo: pipeByteLimit,
                                     highWatermark: FlowControlDefaults.receivePipeMessagesPerStream, onDemand: {
            outbox.resumeReadingOnLoop()
        })
        state = .open(requests: requests.writer)
        responses.setWritable(table.isWritable(streamID))
        _ = responses.attach(on: eventLoop, drainer: self)
        let writer = RPCWriter<ResponsePart>(
            write: { try await outbox.send($0) },
            yield: { outbox.offer($0) },
            finish: { _ in outbox.finish() })
        pendingStart = ServerStream(head: head, requests: requests.sequence, responses: writer, peer: peer)
        table.notifyAtReadComplete(streamID)
        if endStream { receiveEndOfRequests() }
    }

    /// Starts the call accepted during this read, unless it has ended already.
    func readComplete() {
        guard let stream = pendingStart else { return }
        pendingStart = nil
        guard !ended else { return }
        guard let task = accept(stream) else {
            if case .open(let requests) = state { requests.finish(throwing: CancellationError()) }
            rejectEarly(RPCError(code: .unavailable, message: "the server is shutting down"))
            return
        }
        self.task = task
    }

    private func deliverMessages() {
        guard case .open(let requests) = state else { return }
        while true {
            let message: MessageDeframer.Message?
            do {
                message = try deframer.next()
            } catch {
                let failure: RPCError
                switch error {
                case .messageTooLarge(let length, let limit):
                    failure = RPCError(code: .resourceExhausted, message: "request message of \(length) bytes exceeds the \(limit)-byte limit")
                case .invalidCompressionFlag(let flag):
                    failure = RPCError(code: .internal, message: "invalid compressed flag \(flag)")
                case .truncated:
                    failure = RPCError(code: .internal, message: "truncated message")
                }
                failCall(failure)
                return
            }
            guard let message else { return }
            var bytes = message.bytes
            if message.compressed {
                guard let encoding = requestEncoding else {
                    failCall(RPCError(code: .internal, message: "compressed message without grpc-encoding"))
                    return
                }
                do {
                    bytes = try MessageCompression.decompress(bytes, with: encoding, limit: maxReceiveMessageSize,
                                                              allocator: table.allocator)
                } catch let error as RPCError {
                    failCall(error)
                    return
                } catch {
                    failCall(RPCError(code: .internal, message: "\(error)"))
                    return
                }
            }
            if !requests.yield(SerializedMessage(Array(bytes.readableBytesView), compressed: message.compressed)) {
                // Stop here: the rest stays as bytes until the call catches up.
                deliveryPaused = true
                table.pauseReading(streamID)
                return
            }
        }
    }

    private func receiveEndOfRequests() {
        endOfRequestsPending = false
        guard case .open(let requests) = state else { return }
        state = .halfClosed
        do {
            try deframer.finish()
            requests.finish()
        } catch {
            requests.finish(throwing: RPCError(code: .internal, message: "the request stream ended inside a message"))
        }
    }

    /// Ends the call from the transport's side: a malformed or oversized request.
    private func failCall(_ error: RPCError) {
        if case .open(let requests) = state { requests.finish(throwing: error) }
        state = .closed
        task?.cancel()
        writeEnd(error, trailers: [:])
    }

    /// The client went away or reset the stream.
    private func abort(_ error: RPCError) {
        switch state {
        case .open(let requests):
            requests.finish(throwing: error)
        case .idle, .halfClosed, .closed, .readingREST:
            break
        }
        state = .closed
        if !ended {
            ended = true
            responses.close()
            task?.cancel()
        }
    }

    // MARK: - Outbound

    func drainOutbox() {
        drainResponses()
    }

    /// Writes the parts the call queued, then flushes once. While the stream cannot take more
    /// (the client's window is closed and a backlog waits in HTTP/2), parts stay in the outbox,
    /// which holds the call back: what a stalled reader pins is bounded by the outbox's byte
    /// limit and the backlog's watermark, not by what the call produces.
    private func drainResponses() {
        guard ended || table.isWritable(streamID) else {
            drainDeferred = true
            responses.setWritable(false)
            return
        }
        drainDeferred = false
        let end = responses.take(into: &drained)
        var batch = DataBatcher()
        for part in drained { write(part, batch: &batch) }
        writeData(batch.take())
        drained.removeAll(keepingCapacity: true)
        if end { finishResponses() }
        table.flush()
        responses.setWritable(table.isWritable(streamID))
    }

    /// Writes a part; messages are gathered in `batch`, which is written before anything else.
    private func write(_ part: ResponsePart, batch: inout DataBatcher) {
        guard !ended else { return }
        if answersREST {
            writeREST(part)
            return
        }
        if case .message = part {} else { writeData(batch.take()) }
        switch part {
        case .headers(let metadata, let compression):
            guard !headersSent else { return }
            headersSent = true
            responseEncoding = compression
            let headers = GRPCHeaders.response(metadata, encoding: compression, format: messageFormat)
            table.write(.headers(.init(headers: headers)), on: streamID)
        case .message(let message):
            if !headersSent {
                headersSent = true
                table.write(.headers(.init(headers: GRPCHeaders.response([:], encoding: nil, format: messageFormat))), on: streamID)
            }
            let allocator = table.allocator
            // A message that fails to compress goes out plain: the flag says which it is.
            let framed = (try? MessageFramer.frame(message, encoding: responseEncoding, allocator: allocator))
                ?? MessageFramer.frame(message.bytes, compressed: false, allocator: allocator)
            writeData(batch.add(framed))
        case .end(let error, let trailers):
            writeEnd(error, trailers: trailers, flush: false)
        }
    }

    private func writeData(_ data: ByteBuffer?) {
        guard let data else { return }
        table.write(.data(.init(data: .byteBuffer(data))), on: streamID)
    }

    private func writeEnd(_ error: RPCError?, trailers: Metadata, flush: Bool = true) {
        guard !ended else { return }
        ended = true
        responses.close()
        let headers = GRPCHeaders.trailers(error, trailers, trailersOnly: !headersSent, format: messageFormat)
        headersSent = true
        table.write(.headers(.init(headers: headers, endStream: true)), on: streamID)
        if flush { table.flush() }
        if case .open(let requests) = state {
            // The call is over: requests still arriving have nowhere to go.
            requests.finish()
            state = .closed
        }
    }

    private func finishResponses() {
        guard !ended else { return }
        // The call ended without a status (it should not): reset rather than hang the client.
        ended = true
        responses.close()
        table.write(.rstStream(.internalError), on: streamID)
    }

    // MARK: - Early rejections

    private func rejectEarly(_ error: RPCError) {
        state = .closed
        ended = true
        var headers = GRPCHeaders.trailers(error, [:], trailersOnly: true, format: messageFormat)
        if error.code == .unimplemented { headers.add(name: "grpc-accept-encoding", value: MessageCompression.acceptEncoding) }
        table.write(.headers(.init(headers: headers, endStream: true)), on: streamID)
        table.flush()
    }

    private func rejectWithHTTPStatus(_ status: String, message: String) {
        state = .closed
        ended = true
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: status)
        headers.add(name: "content-type", value: GRPCHeaders.contentType)
        headers.add(name: "grpc-status", value: String(StatusCode.internal.rawValue))
        headers.add(name: "grpc-message", value: StatusMessageEncoding.encode(message))
        table.write(.headers(.init(headers: headers, endStream: true)), on: streamID)
        table.flush()
    }
}
