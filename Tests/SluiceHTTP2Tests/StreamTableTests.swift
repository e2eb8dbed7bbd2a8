import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
@testable import SluiceHTTP2
import Testing

@Suite("Receive windows")
struct InboundWindowTests {
    @Test("bytes are handed back once half the window is owed, all at once")
    func halfWindow() {
        var window = InboundWindow(target: 100)
        let r1 = window.received(30)
        #expect(r1 == nil)
        let r2 = window.received(19)
        #expect(r2 == nil)
        let r3 = window.received(1)
        #expect(r3 == 50)
        let r4 = window.received(49)
        #expect(r4 == nil)
    }

    @Test("a paused window withholds what arrives, and resuming hands it back")
    func pauseAndResume() {
        var window = InboundWindow(target: 100)
        let r5 = window.received(10)
        #expect(r5 == nil)
        window.pause()
        let r6 = window.received(60)
        #expect(r6 == nil)
        let r7 = window.received(30)
        #expect(r7 == nil)
        let r8 = window.resume()
        #expect(r8 == 100)
        let r9 = window.resume()
        #expect(r9 == nil)
        #expect(!window.isPaused)
    }

    @Test("resuming with less than half owed sends nothing yet")
    func smallResume() {
        var window = InboundWindow(target: 100)
        window.pause()
        let r10 = window.received(20)
        #expect(r10 == nil)
        let r11 = window.resume()
        #expect(r11 == nil)
        let r12 = window.received(30)
        #expect(r12 == 50)
    }
}

@Suite("Send backlog")
struct OutboundBacklogTests {
    @Test("past the high watermark the stream is unwritable until under the low one")
    func watermarks() {
        var backlog = OutboundBacklog()
        let r13 = backlog.queued(OutboundBacklog.highWatermark)
        #expect(!r13)
        #expect(backlog.isWritable)
        let r14 = backlog.queued(1)
        #expect(r14)
        #expect(!backlog.isWritable)
        let r15 = backlog.sent(OutboundBacklog.highWatermark - OutboundBacklog.lowWatermark)
        #expect(!r15)
        #expect(!backlog.isWritable)
        let r16 = backlog.sent(2)
        #expect(r16)
        #expect(backlog.isWritable)
        #expect(backlog.pending == OutboundBacklog.lowWatermark - 1)
    }
}

/// Records what the table does to it.
final class RecordingEndpoint: StreamEndpoint {
    var received: [HTTP2Frame.FramePayload] = []
    var writabilityChanges = 0
    var closed = 0
    var causes: [StreamCloseCause] = []

    func receive(_ payload: HTTP2Frame.FramePayload) { received.append(payload) }
    func writabilityChanged() { writabilityChanges += 1 }
    func streamClosed(_ cause: StreamCloseCause) {
        closed += 1
        causes.append(cause)
    }
    func readComplete() {}
}

@Suite("Stream table")
struct StreamTableTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let table: StreamTable<RecordingEndpoint>
        /// The endpoints a server table accepted, by stream.
        let box = AcceptedBox()

        init(server: Bool, streamWindow: Int = 1_000, connectionWindow: Int = 100_000,
             maxConcurrentStreams: Int = .max, receiveBudget: Int = .max) throws {
            var accept: StreamTable<RecordingEndpoint>.Accept?
            let box = self.box
            if server {
                accept = { id, _ in
                    let endpoint = RecordingEndpoint()
                    box.endpoints[id] = endpoint
                    return endpoint
                }
            }
            table = StreamTable(streamWindow: streamWindow, connectionWindow: connectionWindow,
                                receiveBudget: receiveBudget, maxConcurrentStreams: maxConcurrentStreams, accept: accept)
            try channel.pipeline.syncOperations.addHandler(table)
            try channel.pipeline.syncOperations.addHandler(errors)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        final class AcceptedBox { var endpoints: [HTTP2StreamID: RecordingEndpoint] = [:] }

        /// The errors the table passes on to the connection handler.
        final class ErrorRecorder: ChannelInboundHandler {
            typealias InboundIn = HTTP2Frame
            var errors: [any Error] = []
            func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
        }

        let errors = ErrorRecorder()

        func send(_ payload: HTTP2Frame.FramePayload, on stream: HTTP2StreamID) throws {
            try channel.writeInbound(HTTP2Frame(streamID: stream, payload: payload))
            channel.pipeline.fireChannelReadComplete()
        }

        /// The frames the table wrote, as (stream, window increment) for WINDOW_UPDATEs.
        func windowUpdates() throws -> [(HTTP2StreamID, Int)] {
            var updates: [(HTTP2StreamID, Int)] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
                if case .windowUpdate(let increment) = frame.payload { updates.append((frame.streamID, increment)) }
            }
            return updates
        }
    }

    static func headers(endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: [":method": "POST", ":path": "/a/b"], endStream: endStream))
    }

    static func data(_ size: Int, endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(repeating: 0, count: size)), endStream: endStream))
    }

    @Test("activation grows the connection window past the protocol's 64 KiB")
    func connectionWindowGrowth() throws {
        let harness = try Harness(server: true)
        let updates = try harness.windowUpdates()
        #expect(updates.count == 1)
        #expect(updates.first?.0 == .rootStream)
        #expect(updates.first?.1 == 100_000 - 65_535)
    }

    @Test("a server accepts streams on HEADERS, routes frames by ID and passes connection frames on")
    func routing() throws {
        let harness = try Harness(server: true)
        try harness.send(Self.headers(), on: 1)
        try harness.send(Self.headers(), on: 3)
        try harness.send(Self.data(10), on: 3)
        try harness.send(.ping(HTTP2PingData(withInteger: 7), ack: false), on: .rootStream)
        // DATA for a stream never opened is dropped.
        try harness.send(Self.data(10), on: 5)
        #expect(harness.box.endpoints.keys.sorted() == [1, 3])
        #expect(harness.box.endpoints[1]?.received.count == 1)
        #expect(harness.box.endpoints[3]?.received.count == 2)
        let forwarded = try harness.channel.readInbound(as: HTTP2Frame.self)
        #expect(forwarded?.streamID == .rootStream)
        #expect(harness.table.openStreams == 2)
    }

    @Test("windows come back as bytes arrive, and are withheld while the stream is paused")
    func receiveFlowControl() throws {
        let harness = try Harness(server: true)
        _ = try harness.windowUpdates()
        try harness.send(Self.headers(), on: 1)
        try harness.send(Self.data(600), on: 1)
        var updates = try harness.windowUpdates()
        #expect(updates.map(\.0) == [1] && updates.map(\.1) == [600])
        harness.table.pauseReading(1)
        try harness.send(Self.data(700), on: 1)
        #expect(try harness.windowUpdates().isEmpty)
        harness.table.resumeReading(1)
        updates = try harness.windowUpdates()
        #expect(updates.map(\.0) == [1] && updates.map(\.1) == [700])
    }

    @Test("no WINDOW_UPDATE for a stream the peer has ended, even when resuming releases withheld bytes")
    func noUpdateAfterPeerEnded() throws {
        let harness = try Harness(server: true)
        _ = try harness.windowUpdates()
        try harness.send(Self.headers(), on: 1)
        harness.table.pauseReading(1)
        try harness.send(Self.data(700), on: 1)
        try harness.send(Self.data(10, endStream: true), on: 1)
        harness.table.resumeReading(1)
        // swift-nio-http2 calls a WINDOW_UPDATE on a half-closed stream a protocol error.
        #expect(try harness.windowUpdates().allSatisfy { $0.0 != 1 })
    }

    @Test("a closed stream is told once and forgotten; the connection closing tells the rest")
    func closing() throws {
        let harness = try Harness(server: true)
        try harness.send(Self.headers(), on: 1)
        try harness.send(Self.headers(), on: 3)
        harness.channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 1, reason: .cancel))
        #expect(harness.box.endpoints[1]?.closed == 1)
        #expect(harness.table.openStreams == 1)
        try harness.channel.close().wait()
        #expect(harness.box.endpoints[1]?.closed == 1)
        #expect(harness.box.endpoints[3]?.closed == 1)
        #expect(harness.table.openStreams == 0)
    }

    @Test("HEADERS or DATA on the wire counts as data sent, once; control frames do not")
    func dataSent() throws {
        let harness = try Harness(server: true)
        harness.table.wroteFrame(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 1), ack: true)))
        #expect(!harness.table.takeDataSent())
        harness.table.wroteFrame(HTTP2Frame(streamID: 1, payload: Self.headers()))
        #expect(harness.table.takeDataSent())
        #expect(!harness.table.takeDataSent())
        harness.table.wroteFrame(HTTP2Frame(streamID: 1, payload: Self.data(10)))
        #expect(harness.table.takeDataSent())
    }

    @Test("a client opens streams with odd, increasing IDs; DATA sent on the wire makes it writable again")
    func clientStreamsAndBacklog() throws {
        let harness = try Harness(server: false)
        let first = RecordingEndpoint()
        let second = RecordingEndpoint()
        #expect(harness.table.open(first) == 1)
        #expect(harness.table.open(second) == 3)
        harness.table.write(Self.data(OutboundBacklog.highWatermark + 1), on: 1)
        #expect(!harness.table.isWritable(1))
        #expect(harness.table.isWritable(3))
        harness.table.wroteFrame(HTTP2Frame(streamID: 1, payload: Self.data(OutboundBacklog.highWatermark)))
        #expect(harness.table.isWritable(1))
        #expect(first.writabilityChanges == 1)
        #expect(second.writabilityChanges == 0)
        // Frames for streams the server opens are dropped: a client accepts none.
        try harness.send(Self.headers(), on: 2)
        #expect(harness.table.openStreams == 2)
    }

    struct FlowControlViolation: Error {}

    @Test("a stream past the concurrent-stream limit is refused with REFUSED_STREAM, and others go on")
    func refusedStream() throws {
        let harness = try Harness(server: true, maxConcurrentStreams: 1)
        _ = try harness.windowUpdates()
        try harness.send(Self.headers(), on: 1)
        try harness.send(Self.headers(), on: 3)
        #expect(harness.box.endpoints[3] == nil)
        let reset = try harness.channel.readOutbound(as: HTTP2Frame.self)
        #expect(reset?.streamID == 3)
        if case .rstStream(let code) = reset?.payload { #expect(code == .refusedStream) } else { Issue.record("\(String(describing: reset))") }
        try harness.send(Self.data(10), on: 1)
        #expect(harness.box.endpoints[1]?.received.count == 2)
    }

    @Test("a stream error (swift-nio-http2's own RST_STREAM, then the error) closes that stream alone, with the cause")
    func streamErrorStaysOnItsStream() throws {
        let harness = try Harness(server: true)
        try harness.send(Self.headers(), on: 1)
        try harness.send(Self.headers(), on: 3)
        // What NIOHTTP2Handler does on a stream error: writes RST_STREAM (the frame delegate
        // sees it), closes the stream, then reports the error.
        harness.table.wroteFrame(HTTP2Frame(streamID: 1, payload: .rstStream(.flowControlError)))
        harness.channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 1, reason: .flowControlError))
        harness.channel.pipeline.fireErrorCaught(FlowControlViolation())
        let endpoint = try #require(harness.box.endpoints[1])
        #expect(endpoint.closed == 1)
        guard case .protocolViolation(.flowControlError, let error) = endpoint.causes.first, error is FlowControlViolation else {
            Issue.record("cause: \(endpoint.causes)")
            return
        }
        #expect(harness.box.endpoints[3]?.closed == 0)
        #expect(harness.errors.errors.isEmpty, "a stream error must not reach the connection handler")
    }

    @Test("a connection error passes on to the connection handler, and closing ends every stream with it")
    func connectionErrorPassesOn() throws {
        let harness = try Harness(server: true)
        try harness.send(Self.headers(), on: 1)
        harness.channel.pipeline.fireErrorCaught(FlowControlViolation())
        #expect(harness.errors.errors.count == 1)
        try harness.channel.close().wait()
        guard case .connectionError(let error) = harness.box.endpoints[1]?.causes.first, error is FlowControlViolation else {
            Issue.record("cause: \(String(describing: harness.box.endpoints[1]?.causes))")
            return
        }
    }

    @Test("over the receive budget, stalled streams hold back the connection's window until one resumes")
    func receiveBudget() throws {
        let harness = try Harness(server: true, streamWindow: 10_000, connectionWindow: 1_000, receiveBudget: 500)
        _ = try harness.windowUpdates()
        try harness.send(Self.headers(), on: 1)
        harness.table.pauseReading(1)
        try harness.send(Self.data(600), on: 1)
        #expect(try harness.windowUpdates().isEmpty, "600 bytes held by a stalled stream: over budget")
        harness.table.resumeReading(1)
        let updates = try harness.windowUpdates()
        #expect(updates.contains { $0.0 == .rootStream && $0.1 == 600 }, "\(updates)")
    }
}
