import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice
@testable import SluiceHTTP2
import Testing

@Suite("gRPC over HTTP/2 protocol pieces")
struct ProtocolTests {
    let allocator = ByteBufferAllocator()

    @Test("the deframer reassembles messages across every split of the bytes")
    func deframeAnySplit() throws {
        let messages: [[UInt8]] = [[], [1, 2, 3], Array(repeating: 7, count: 300)]
        var wire: [UInt8] = []
        for message in messages {
            wire += Array(MessageFramer.frame(message, compressed: false, allocator: allocator).readableBytesView)
        }
        for split in 0...wire.count {
            var deframer = MessageDeframer(maxMessageSize: 1000)
            var received: [[UInt8]] = []
            for chunk in [wire[..<split], wire[split...]] {
                deframer.append(allocator.buffer(bytes: chunk))
                while let message = try deframer.next() { received.append(Array(message.bytes.readableBytesView)) }
            }
            try deframer.finish()
            #expect(received == messages, "split at \(split)")
        }
    }

    @Test("an announced message over the limit is refused from its prefix alone")
    func sizeLimitFromPrefix() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        var prefix = allocator.buffer(capacity: 5)
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(4_000_000_000))
        deframer.append(prefix)
        #expect(throws: MessageDeframer.DeframeError.messageTooLarge(length: 4_000_000_000, limit: 10)) { try deframer.next() }
    }

    @Test("a stream ending inside a message, and a bad compressed flag, are errors")
    func malformedFraming() {
        var truncated = MessageDeframer(maxMessageSize: 100)
        truncated.append(allocator.buffer(bytes: [0, 0, 0, 0, 5, 1, 2]))
        #expect((try? truncated.next()) == .some(nil))
        #expect(throws: MessageDeframer.DeframeError.truncated) { try truncated.finish() }

        var badFlag = MessageDeframer(maxMessageSize: 100)
        badFlag.append(allocator.buffer(bytes: [2, 0, 0, 0, 0]))
        #expect(throws: MessageDeframer.DeframeError.invalidCompressionFlag(2)) { try badFlag.next() }
    }

    @Test("grpc-timeout parses every unit and encodes in at most 8 digits, rounding up")
    func timeouts() {
        #expect(GRPCTimeout.parse("1H") == .seconds(3600))
        #expect(GRPCTimeout.parse("2M") == .seconds(120))
        #expect(GRPCTimeout.parse("3S") == .seconds(3))
        #expect(GRPCTimeout.parse("4m") == .milliseconds(4))
        #expect(GRPCTimeout.parse("5u") == .microseconds(5))
        #expect(GRPCTimeout.parse("6n") == .nanoseconds(6))
        for bad in ["", "S", "123456789S", "1x", "-1S", "1.5S"] { #expect(GRPCTimeout.parse(bad) == nil, "\(bad)") }
        #expect(GRPCTimeout.encode(.milliseconds(1500)) == "1500000u")
        #expect(GRPCTimeout.encode(.seconds(200)) == "200000m")
        #expect(GRPCTimeout.encode(.zero) == "1n")
        for duration: Duration in [.nanoseconds(1), .milliseconds(7), .seconds(86_400), .seconds(1_000_000_000)] {
            let encoded = GRPCTimeout.encode(duration)
            #expect(encoded.dropLast().count <= 8)
            #expect(GRPCTimeout.parse(encoded).map { $0 >= duration } == true, "\(encoded) < \(duration)")
        }
    }

    @Test("grpc-message percent-encoding round-trips and leaves printable ASCII alone")
    func statusMessages() {
        let special = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
        let encoded = StatusMessageEncoding.encode(special)
        #expect(encoded.allSatisfy { $0.isASCII && $0 != "\n" })
        #expect(StatusMessageEncoding.decode(encoded) == special)
        #expect(StatusMessageEncoding.encode("plain text 100") == "plain text 100")
        #expect(StatusMessageEncoding.encode("50%") == "50%25")
        #expect(StatusMessageEncoding.decode("bad %zz escape %4") == "bad %zz escape %4")
    }

    @Test("HTTP statuses and RST_STREAM codes map to gRPC codes")
    func mappings() {
        #expect(StatusMapping.code(forHTTPStatus: 400) == .internal)
        #expect(StatusMapping.code(forHTTPStatus: 401) == .unauthenticated)
        #expect(StatusMapping.code(forHTTPStatus: 403) == .permissionDenied)
        #expect(StatusMapping.code(forHTTPStatus: 404) == .unimplemented)
        for status in [429, 502, 503, 504] { #expect(StatusMapping.code(forHTTPStatus: status) == .unavailable) }
        #expect(StatusMapping.code(forHTTPStatus: 500) == .unknown)
        #expect(StatusMapping.code(forReset: .cancel) == .cancelled)
        #expect(StatusMapping.code(forReset: .refusedStream) == .unavailable)
        #expect(StatusMapping.code(forReset: .enhanceYourCalm) == .resourceExhausted)
        #expect(StatusMapping.code(forReset: .inadequateSecurity) == .permissionDenied)
        #expect(StatusMapping.code(forReset: .protocolError) == .internal)
    }

    @Test("a response without grpc-status takes its code from the HTTP status")
    func missingStatus() {
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: "503")
        #expect(GRPCHeaders.status(from: headers, httpStatus: nil)?.code == .unavailable)
        var ok = HPACKHeaders()
        ok.add(name: "grpc-status", value: "0")
        #expect(GRPCHeaders.status(from: ok, httpStatus: 200) == nil)
        var invalid = HPACKHeaders()
        invalid.add(name: "grpc-status", value: "99")
        #expect(GRPCHeaders.status(from: invalid, httpStatus: 200)?.code == .unknown)
    }

    @Test("reserved headers stay out of user metadata; -bin values are base64, padded or not")
    func metadataHeaders() {
        var headers = HPACKHeaders()
        headers.add(name: ":path", value: "/a/b")
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "grpc-timeout", value: "1S")
        headers.add(name: "x-user", value: "ada")
        headers.add(name: "x-data-bin", value: "q6ur")
        headers.add(name: "x-pad-bin", value: "AQ==")
        headers.add(name: "x-nopad-bin", value: "AQ")
        let metadata = GRPCHeaders.metadata(from: headers)
        #expect(metadata.map(\.key) == ["x-user", "x-data-bin", "x-pad-bin", "x-nopad-bin"])
        #expect(metadata.firstBinary("x-data-bin") == [0xAB, 0xAB, 0xAB])
        #expect(metadata.firstBinary("x-pad-bin") == [1])
        #expect(metadata.firstBinary("x-nopad-bin") == [1])
    }

    @Test("request headers come in the order the spec lists")
    func requestHeaderOrder() {
        let head = RequestHead(method: MethodDescriptor(service: "pkg.S", method: "M", kind: .unary),
                               metadata: ["x-custom": "1", "te": "evil"], deadline: .now + .seconds(5),
                               compression: .gzip)
        let headers = GRPCHeaders.request(head, scheme: "http", authority: "localhost:1")
        let names = headers.map { $0.name }
        #expect(Array(names.prefix(6)) == [":method", ":scheme", ":path", ":authority", "te", "content-type"])
        #expect(headers.first(name: ":path") == "/pkg.S/M")
        #expect(headers.first(name: "grpc-encoding") == "gzip")
        #expect(headers[canonicalForm: "te"] == ["trailers"])
        #expect(names.last == "x-custom")
    }
}

@Suite("Keepalive enforcement")
struct KeepaliveEnforcerTests {
    let start = ContinuousClock.now

    @Test("pings closer than the minimum interval are strikes; the third strike is GOAWAY")
    func strikes() {
        var enforcer = KeepaliveEnforcer(policy: ServerKeepalive())
        #expect(enforcer.receivedPing(at: start, activeCalls: 1) == .allow)
        #expect(enforcer.receivedPing(at: start + .seconds(1), activeCalls: 1) == .allow)
        #expect(enforcer.receivedPing(at: start + .seconds(2), activeCalls: 1) == .allow)
        #expect(enforcer.strikes == 2)
        #expect(enforcer.receivedPing(at: start + .seconds(3), activeCalls: 1) == .goAway)
    }

    @Test("pings at the permitted interval are never strikes")
    func politePings() {
        var enforcer = KeepaliveEnforcer(policy: ServerKeepalive())
        for i in 0..<10 {
            #expect(enforcer.receivedPing(at: start + .seconds(300 * i), activeCalls: 1) == .allow)
        }
        #expect(enforcer.strikes == 0)
    }

    @Test("pings right after the server sent data reset the strikes: grpc-go's bandwidth pings are fine")
    func bandwidthEstimationPings() {
        var enforcer = KeepaliveEnforcer(policy: ServerKeepalive())
        for i in 0..<1_000 {
            enforcer.didSendData()
            #expect(enforcer.receivedPing(at: start + .milliseconds(i), activeCalls: 1) == .allow)
        }
        #expect(enforcer.strikes == 0)
    }

    @Test("without calls, pings need two hours unless permitted")
    func idleConnections() {
        var strict = KeepaliveEnforcer(policy: ServerKeepalive())
        _ = strict.receivedPing(at: start, activeCalls: 0)
        _ = strict.receivedPing(at: start + .seconds(600), activeCalls: 0)
        #expect(strict.strikes == 1)
        var policy = ServerKeepalive()
        policy.permitWithoutCalls = true
        var lenient = KeepaliveEnforcer(policy: policy)
        _ = lenient.receivedPing(at: start, activeCalls: 0)
        _ = lenient.receivedPing(at: start + .seconds(600), activeCalls: 0)
        #expect(lenient.strikes == 0)
    }

    @Test("connection backoff grows by 1.6 up to 120 s, within the jitter")
    func backoff() {
        let backoff = ConnectionBackoff()
        #expect(backoff.delay(afterFailures: 1, random: 0) == .seconds(1))
        #expect(abs(backoff.delay(afterFailures: 2, random: 0).seconds - 1.6) < 1e-9)
        #expect(abs(backoff.delay(afterFailures: 3, random: 0).seconds - 2.56) < 1e-9)
        #expect(backoff.delay(afterFailures: 50, random: 0) == .seconds(120))
        #expect(abs(backoff.delay(afterFailures: 1, random: 1).seconds - 1.2) < 1e-9)
        #expect(abs(backoff.delay(afterFailures: 1, random: -1).seconds - 0.8) < 1e-9)
    }
}
