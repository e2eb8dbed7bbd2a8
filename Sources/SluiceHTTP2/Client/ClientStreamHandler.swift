import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice

/// Runs one gRPC call on one HTTP/2 stream of a client connection.
///
/// Opens its stream in the connection's ``StreamTable`` and writes the request HEADERS,
/// followed by whatever the call has already put in its request ``Outbox`` (for a unary call,
/// the request and the end of stream, all in one flush), then drains the outbox as the call
/// writes. Reads response HEADERS, DATA and trailers and delivers them to the call's
/// ``ClientStreamSink``; while the call is behind, the table stops returning the stream's
/// flow-control window.
final class ClientStreamHandler: StreamEndpoint, OutboxDrainer {
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
    /// The SETTINGS_MAX_HEADER_LIST_SIZE this side advertised, for the error that names it.
    private var maxResponseHeaderListSize: Int { connection.maxResponseHeaderListSize }
    private var state = ResponseState.awaitingHeaders
    private var deframer: MessageDeframer
    private var responseEncoding: CompressionAlgorithm?
    private var httpStatus: Int?
    private let table: StreamTable<ClientStreamHandler>
    /// Assigned by the table when the stream opens.
    private var streamID = HTTP2StreamID.rootStream
    private var requestsClosed = false
    /// Response parts of the current read, delivered together when it is done: a unary
    /// response's message and status then reach the call at once, and the call is woken once
    /// rather than once for each (every wake from the event loop is a thread hop).
    private var pendingParts = InlineBatch<ResponsePart>()
    /// The batch being delivered, swapped with ``pendingParts`` so both keep their storage.
    private var deliveringParts = InlineBatch<ResponsePart>()
    private var deferringParts = false
    /// The outbox's other buffer, swapped in on every drain.
    private var drained = InlineBatch<ByteBuffer>()
    /// The call is behind: received bytes wait in the deframer, not as messages, until it reads.
    private var deliveryPaused = false
    /// A batch of parts is gathered: deframing waits for it to be handed over.
    private var batchFull = false
    /// The stream closed: nothing more arrives, so delivery no longer pauses.
    private var streamFinished = false
    /// Trailers that arrived while messages still waited in the deframer.
    private var pendingTrailers: HPACKHeaders?
    /// A drain found the stream unwritable and left the requests in the outbox.
    private var drainDeferred = false

    /// Request DATA written so far, kept until the server answers, so that a stream it never
    /// processed (REFUSED_STREAM, or above a GOAWAY's last stream ID) can be opened again with
    /// the same requests: gRFC A6's transparent retry. nil once the server answered, once more
    /// than ``TransparentRetry/maxReplayBytes`` went out, and once the call has no transparent
    /// retries left.
    private var replayableRequests: InlineBatch<ByteBuffer>?
    private var replayableBytes = 0
    /// This stream was given up and a new one carries the call on.
    private var superseded = false
    /// What the call's opening said: the requests a retried stream writes first, how many more
    /// transparent retries it may make, and how it moves to another connection.
    private let opening: ClientStreamHandle.Opening
    private var replay: TransparentRetry.Replay? { opening.replay }

    init(_ opening: ClientStreamHandle.Opening, handle: ClientStreamHandle) {
        self.opening = opening
        if opening.transparentRetriesLeft > 0 {
            var kept = InlineBatch<ByteBuffer>()
            for data in opening.replay?.requests ?? [] {
                kept.append(data)
                replayableBytes += data.readableBytes
            }
            self.replayableRequests = kept
        } else {
            self.replayableRequests = nil
        }
        self.connection = opening.connection
        self.table = opening.connection.streams.value
        self.head = opening.head
        self.sink = opening.sink
        self.handle = handle
        self.scheme = opening.scheme
        self.authority = opening.authority
        self.maxReceiveMessageSize = opening.maxReceiveMessageSize
        self.deframer = MessageDeframer(maxMessageSize: opening.maxReceiveMessageSize)
    }

    /// Opens the stream and sends the request HEADERS with whatever the call has queued.
    func start(on eventLoop: any EventLoop) {
        guard !sink.hasEnded else {
            // Cancelled before the stream opened: nothing goes out.
            state = .ended
            requests.close()
            connection.releaseStream()
            return
        }
        guard let streamID = table.open(self) else {
            if !table.canOpenStreams { connection.state.withLock { $0.goingAway = true } }
            state = .ended
            connection.releaseStream()
            if opening.transparentRetriesLeft > 0 {
                // Nothing went out: the whole call, outbox and all, moves to another connection.
                superseded = true
                reopenElsewhere(replay: replay)
                return
            }
            requests.close()
            sink.receive(.end(RPCError(code: .unavailable, message: "could not open a stream: the connection is closed"),
                              trailers: [:]))
            return
        }
        self.streamID = streamID
        let loop = NIOLoopBound(self, eventLoop: eventLoop)
        handle.attach(loop)
        let headers = GRPCHeaders.request(head, scheme: scheme, authority: authority)
        table.write(.headers(.init(headers: headers)), on: streamID)
        if let replay {
            for (index, data) in replay.requests.enumerated() {
                let last = replay.ended && index == replay.requests.count - 1
                table.write(.data(.init(data: .byteBuffer(data), endStream: last)), on: streamID)
            }
            if replay.ended {
                requestsClosed = true
                if replay.requests.isEmpty {
                    table.write(.data(.init(data: .byteBuffer(table.allocator.buffer(capacity: 0)), endStream: true)),
                                on: streamID)
                }
            }
        }
        if requests.attach(on: eventLoop, drainer: self) {
            drainRequests()
            // A replay that ended the requests leaves the drain nothing to write, nor to flush.
            if replay != nil { table.flush() }
        } else {
            table.flush()
        }
    }

    func streamClosed(_ cause: StreamCloseCause) {
        // The call went on on a new stream, which owns the call's handle and outbox now.
        guard !superseded else { return }
        if case .goAwayUnprocessed = cause, state == .awaitingHeaders, let replayable = replayableRequests {
            // The server never saw this stream: send it again on another connection.
            superseded = true
            state = .ended
            connection.releaseStream()
            reopenElsewhere(replay: TransparentRetry.Replay(requests: Array(replayable), ended: requestsClosed))
            return
        }
        if case .ended = cause, deliveryPaused || batchFull {
            // The server finished while the call was behind: what it sent is all here (no
            // more than a window), so hand it over rather than lose it.
            streamFinished = true
            deliveryPaused = false
            batchFull = false
            deliverMessages()
            if let trailers = pendingTrailers {
                pendingTrailers = nil
                receiveTrailers(trailers)
            }
        }
        deliverPendingParts()
        end(Self.error(for: cause, limit: maxResponseHeaderListSize), trailers: [:])
        handle.detach()
        requests.close()
        connection.releaseStream()
    }

    // MARK: Requests

    func drainOutbox() {
        drainRequests()
    }

    /// Writes what the call queued, then flushes once. While the stream cannot take more, the
    /// requests stay in the outbox and the call waits (see the server's response side).
    private func drainRequests() {
        // A stream given up for another connection leaves what the call queued meanwhile in
        // the outbox: the new stream drains it once it opens.
        guard !superseded else { return }
        guard state == .ended || requestsClosed || table.isWritable(streamID) else {
            drainDeferred = true
            requests.setWritable(false)
            table.flush()
            return
        }
        drainDeferred = false
        let end = requests.take(into: &drained)
        guard state != .ended, !requestsClosed else {
            drained.removeAll(keepingCapacity: true)
            return
        }
        var batch = DataBatcher()
        for framed in drained {
            if let full = batch.add(framed) {
                writeRequestData(full, endStream: false)
            }
        }
        drained.removeAll(keepingCapacity: true)
        if end {
            requestsClosed = true
            // The end of stream rides on the last DATA frame, or an empty one.
            let last = batch.take() ?? table.allocator.buffer(capacity: 0)
            writeRequestData(last, endStream: true)
        } else if let last = batch.take() {
            writeRequestData(last, endStream: false)
        }
        table.flush()
        requests.setWritable(table.isWritable(streamID))
    }

    /// Writes request DATA, keeping it for a transparent retry while that is still possible.
    private func writeRequestData(_ data: ByteBuffer, endStream: Bool) {
        if replayableRequests != nil {
            replayableBytes += data.readableBytes
            if replayableBytes > TransparentRetry.maxReplayBytes {
                replayableRequests = nil
            } else {
                replayableRequests?.append(data)
            }
        }
        table.write(.data(.init(data: .byteBuffer(data), endStream: endStream)), on: streamID)
    }

    /// The server refused the stream before processing it: open another on this connection
    /// (swift-nio-http2 holds it back until the server's MAX_CONCURRENT_STREAMS allows it) with
    /// the same requests, and let it carry the call. The caller never sees the refusal.
    private func retryRefusedStream(with requestsSoFar: InlineBatch<ByteBuffer>) {
        guard let eventLoop = table.eventLoop else { return }
        superseded = true
        state = .ended
        ClientStreamHandler(retryOpening(replay: TransparentRetry.Replay(requests: Array(requestsSoFar), ended: requestsClosed)),
                            handle: handle)
            .start(on: eventLoop)
    }

    /// The call moves to another connection of the transport, which opens it there.
    private func reopenElsewhere(replay: TransparentRetry.Replay?) {
        opening.transport.reopen(handle, retryOpening(replay: replay))
    }

    /// This call's opening for its next stream, one transparent retry fewer.
    private func retryOpening(replay: TransparentRetry.Replay?) -> ClientStreamHandle.Opening {
        var next = opening
        next.replay = replay
        next.transparentRetriesLeft -= 1
        return next
    }

    func readComplete() {
        deliverPendingParts()
    }

    func writabilityChanged() {
        let writable = table.isWritable(streamID)
        requests.setWritable(writable)
        if writable && drainDeferred { drainRequests() }
    }

    /// The client cancelled: RST_STREAM CANCEL.
    func cancel() {
        requests.close()
        guard state != .ended else { return }
        state = .ended
        table.write(.rstStream(.cancel), on: streamID)
        table.flush()
    }

    // MARK: Responses

    func receive(_ payload: HTTP2Frame.FramePayload) {
        if !deferringParts {
            deferringParts = true
            table.notifyAtReadComplete(streamID)
        }
        switch payload {
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
            if !deliveryPaused { deliverMessages() }
            if data.endStream {
                // The server must end with trailers; a bare end of stream has no status.
                end(RPCError(code: .internal, message: "the server ended the stream without trailers"), trailers: [:])
            }
        case .rstStream(.refusedStream) where state == .awaitingHeaders && replayableRequests != nil:
            retryRefusedStream(with: replayableRequests ?? InlineBatch())
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
            let contentType = headers.first(name: "content-type") ?? ""
            switch GRPCHeaders.messageFormat(contentType: contentType) {
            case .grpc(let format) where format == head.messageFormat:
                break
            case .grpc, .unsupported:
                end(RPCError(code: .internal, message: "the server answered a \(head.messageFormat) call with content-type '\(contentType)'"),
                    trailers: [:])
                return
            case .notGRPC:
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
            replayableRequests = nil
            deliver(.headers(GRPCHeaders.metadata(from: headers)))
        case .receivingMessages:
            guard endStream else {
                end(RPCError(code: .internal, message: "the server sent a second HEADERS frame without ending the stream"),
                    trailers: [:])
                resetStream()
                return
            }
            // Trailers; while the call is behind, messages still wait in the deframer.
            if deliveryPaused || batchFull {
                pendingTrailers = headers
            } else {
                receiveTrailers(headers)
            }
        case .ended:
            break
        }
    }

    private func receiveTrailers(_ headers: HPACKHeaders) {
        do {
            try deframer.finish()
        } catch {
            end(RPCError(code: .internal, message: "the response ended inside a message"), trailers: [:])
            return
        }
        end(GRPCHeaders.status(from: headers, httpStatus: httpStatus), trailers: GRPCHeaders.metadata(from: headers))
    }

    private func deliverMessages() {
        while state == .receivingMessages && !deliveryPaused && !batchFull {
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
                end(failure, trailers: [:])
                resetStream()
                return
            }
            guard let message else { return }
            var bytes = message.bytes
            if message.compressed {
                guard let encoding = responseEncoding else {
                    end(RPCError(code: .internal, message: "compressed response without grpc-encoding"), trailers: [:])
                    resetStream()
                    return
                }
                do {
                    bytes = try MessageCompression.decompress(bytes, with: encoding, limit: maxReceiveMessageSize,
                                                              allocator: table.allocator)
                } catch {
                    end(error as? RPCError ?? RPCError(code: .internal, message: "\(error)"), trailers: [:])
                    resetStream()
                    return
                }
            }
            deliver(.message(SerializedMessage(Array(bytes.readableBytesView), compressed: message.compressed)))
        }
    }

    /// The error a call ends with when its stream closes before its status arrived.
    static func error(for cause: StreamCloseCause, limit: Int) -> RPCError {
        if cause.isHeaderListTooLarge {
            return RPCError(code: .resourceExhausted,
                            message: "response metadata size exceeds the limit of \(limit) bytes")
        }
        switch cause {
        case .protocolViolation:
            return RPCError(code: .internal, message: "the server broke the HTTP/2 protocol: \(cause.reason)")
        case .ended:
            return RPCError(code: .unavailable, message: "the stream closed before the call ended")
        case .goAway, .goAwayUnprocessed, .connectionError, .connectionClosed:
            return RPCError(code: .unavailable, message: cause.reason)
        }
    }

    private func end(_ error: RPCError?, trailers: Metadata) {
        guard state != .ended else { return }
        state = .ended
        requests.close()
        deliver(.end(error, trailers: trailers))
    }

    /// Hands a response part to the call, or keeps it until the current read is done.
    private func deliver(_ part: ResponsePart) {
        if deferringParts {
            pendingParts.append(part)
            // Parts go to the call in batches, and no more than a batch is deframed at a time:
            // the rest waits as received bytes, so a read full of tiny messages never turns
            // into more message objects than a batch.
            if case .message = part, !streamFinished, pendingParts.count >= Self.batchLimit { batchFull = true }
        } else if !sink.receive(part), case .message = part {
            pause()
        }
    }

    /// Messages deframed before they are handed to the call together.
    private static let batchLimit = 64

    /// The call is behind: stop deframing and stop returning the stream's window.
    private func pause() {
        guard !deliveryPaused, !streamFinished else { return }
        deliveryPaused = true
        table.pauseReading(streamID)
    }

    /// Hands the parts gathered to the call, then deframes and hands over further batches
    /// while the call has room.
    private func deliverPendingParts() {
        deferringParts = false
        while !pendingParts.isEmpty {
            swap(&pendingParts, &deliveringParts)
            let more = sink.receive(contentsOf: deliveringParts)
            deliveringParts.removeAll()
            guard state != .ended else { return }
            guard more else {
                batchFull = false
                pause()
                return
            }
            guard batchFull else { break }
            // The batch was cut short, not the call: deframe the next one.
            batchFull = false
            deferringParts = true
            deliverMessages()
            deferringParts = false
        }
        if !deliveryPaused, let trailers = pendingTrailers {
            pendingTrailers = nil
            receiveTrailers(trailers)
        }
    }

    /// A malformed response: RST_STREAM CANCEL, as grpc-go does. Called after the call has
    /// ended with its error: writing the reset closes the stream at once, and the table's
    /// `streamClosed` would otherwise end the call first, as UNAVAILABLE.
    private func resetStream() {
        table.write(.rstStream(.cancel), on: streamID)
        table.flush()
    }

    // MARK: Backpressure

    /// The call read half of what waited: deframe what arrived meanwhile, in batches, then let
    /// the server send again, unless that filled the call's pipe once more.
    func resumeReading() {
        guard deliveryPaused else { return }
        deliveryPaused = false
        let inRead = deferringParts
        deferringParts = true
        deliverMessages()
        if inRead { return }  // the end of the read delivers, and decides
        deliverPendingParts()
        guard !deliveryPaused, state != .ended else { return }
        table.resumeReading(streamID)
    }
}
