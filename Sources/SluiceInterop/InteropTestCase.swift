import Foundation
import InteropMessages
import Sluice
import SluiceProto

/// The standard client test cases of doc/interop-test-descriptions.md, by their names.
public enum InteropTestCase: String, CaseIterable, Sendable {
    case emptyUnary = "empty_unary"
    case largeUnary = "large_unary"
    case clientCompressedUnary = "client_compressed_unary"
    case serverCompressedUnary = "server_compressed_unary"
    case clientStreaming = "client_streaming"
    case clientCompressedStreaming = "client_compressed_streaming"
    case serverStreaming = "server_streaming"
    case serverCompressedStreaming = "server_compressed_streaming"
    case pingPong = "ping_pong"
    case emptyStream = "empty_stream"
    case customMetadata = "custom_metadata"
    case statusCodeAndMessage = "status_code_and_message"
    case specialStatusMessage = "special_status_message"
    case unimplementedMethod = "unimplemented_method"
    case unimplementedService = "unimplemented_service"
    case cancelAfterBegin = "cancel_after_begin"
    case cancelAfterFirstResponse = "cancel_after_first_response"
    case timeoutOnSleepingServer = "timeout_on_sleeping_server"
    /// grpc-java's variants of the client-compression cases without the probe: for servers
    /// that cannot see per-message flags (Python grpcio's), which answer the probe with OK.
    case clientCompressedUnaryNoProbe = "client_compressed_unary_noprobe"
    case clientCompressedStreamingNoProbe = "client_compressed_streaming_noprobe"

    /// The cases of doc/interop-test-descriptions.md, which `--test_case all` runs.
    public static var standard: [InteropTestCase] {
        allCases.filter { $0 != .clientCompressedUnaryNoProbe && $0 != .clientCompressedStreamingNoProbe }
    }
}

/// Soak cases, beyond the standard ones: many small calls, and many messages on one stream,
/// to check a peer for errors at volume (run against grpc-go in the tests).
public enum SoakTestCase: String, CaseIterable, Sendable {
    case unarySoak = "unary_soak"
    case streamingSoak = "streaming_soak"
}

/// Cases beyond the standard ones that Sluice's interop server and client (and the Python
/// grpcio peer in `Tests/Interop`) agree on; run only when named.
public enum ExtensionTestCase: String, CaseIterable, Sendable {
    /// Rich error details: a `UnaryCall` whose `response_status.message` is
    /// `rich_error_details` fails with that status plus a `google.rpc.ErrorInfo` (reason
    /// `ECHO_STATUS`, domain `grpc.testing`, metadata `code`), carried in
    /// `grpc-status-details-bin`. The client checks it arrives typed and intact.
    case richErrorDetails = "rich_error_details"

    /// The `response_status.message` that asks the server for details: the case's own name.
    public static var richErrorDetailsMessage: String { richErrorDetails.rawValue }
}

/// The resident memory of a process, for soak runs that check nothing leaks per call.
public enum ResidentMemory {
    /// Bytes resident for process `pid` (this process by default), from /proc (Linux); nil
    /// where /proc is missing.
    public static func bytes(ofProcess pid: Int32? = nil) -> Int? {
        let path = "/proc/\(pid.map(String.init) ?? "self")/statm"
        guard let statm = try? String(contentsOfFile: path, encoding: .utf8),
              let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A failed interop assertion.
public struct InteropFailure: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Runs interop test cases against a server.
public struct InteropClient: Sendable {
    /// The client the cases call through.
    public let client: GRPCClient
    var test: Grpc_Testing_TestService.Client { .init(wrapping: client) }

    public init(client: GRPCClient) {
        self.client = client
    }

    public func run(_ testCase: InteropTestCase) async throws {
        switch testCase {
        case .emptyUnary: try await emptyUnary()
        case .largeUnary: try await largeUnary()
        case .clientCompressedUnary: try await clientCompressedUnary(probe: true)
        case .clientCompressedUnaryNoProbe: try await clientCompressedUnary(probe: false)
        case .serverCompressedUnary: try await serverCompressedUnary()
        case .clientStreaming: try await clientStreaming()
        case .clientCompressedStreaming: try await clientCompressedStreaming(probe: true)
        case .clientCompressedStreamingNoProbe: try await clientCompressedStreaming(probe: false)
        case .serverStreaming: try await serverStreaming(compressed: false)
        case .serverCompressedStreaming: try await serverStreaming(compressed: true)
        case .pingPong: try await pingPong()
        case .emptyStream: try await emptyStream()
        case .customMetadata: try await customMetadata()
        case .statusCodeAndMessage: try await statusCodeAndMessage(message: "test status message")
        case .specialStatusMessage:
            try await statusCodeAndMessage(message: "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n")
        case .unimplementedMethod: try await unimplementedMethod()
        case .unimplementedService: try await unimplementedService()
        case .cancelAfterBegin: try await cancelAfterBegin()
        case .cancelAfterFirstResponse: try await cancelAfterFirstResponse()
        case .timeoutOnSleepingServer: try await timeoutOnSleepingServer()
        }
    }

    private func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw InteropFailure(what()) }
    }

    private func expectError(_ code: StatusCode, _ body: () async throws -> Void) async throws -> RPCError {
        do {
            try await body()
        } catch let error as RPCError {
            try expect(error.code == code, "expected \(code), got \(error)")
            return error
        }
        throw InteropFailure("expected \(code), but the call succeeded")
    }

    private static func payload(_ size: Int) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.body = Data(count: size)
        return payload
    }

    private static func bool(_ value: Bool) -> Grpc_Testing_BoolValue {
        var wrapper = Grpc_Testing_BoolValue()
        wrapper.value = value
        return wrapper
    }

    private func largeRequest() -> Grpc_Testing_SimpleRequest {
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 314_159
        request.payload = Self.payload(271_828)
        return request
    }

    func emptyUnary() async throws {
        let response = try await test.emptyCall(Grpc_Testing_Empty())
        try expect(response.message == Grpc_Testing_Empty(), "non-empty response")
    }

    func largeUnary() async throws {
        let response = try await test.unaryCall(largeRequest())
        try expect(response.payload.body == Data(count: 314_159), "payload of \(response.payload.body.count) bytes")
    }

    func clientCompressedUnary(probe: Bool) async throws {
        if probe {
            // Claims to be compressed but is not: a server with the CompressedRequest feature
            // answers INVALID_ARGUMENT.
            var lie = largeRequest()
            lie.expectCompressed = Self.bool(true)
            _ = try await expectError(.invalidArgument) { _ = try await test.unaryCall(lie) }
        }
        var compressed = largeRequest()
        compressed.expectCompressed = Self.bool(true)
        let first = try await test.unaryCall(compressed, options: CallOptions(compression: .gzip))
        try expect(first.payload.body.count == 314_159, "compressed request: wrong payload")
        var plain = largeRequest()
        plain.expectCompressed = Self.bool(false)
        let second = try await test.unaryCall(plain)
        try expect(second.payload.body.count == 314_159, "uncompressed request: wrong payload")
    }

    func serverCompressedUnary() async throws {
        for compressed in [true, false] {
            var request = largeRequest()
            request.responseCompressed = Self.bool(compressed)
            let response = try await test.unaryCall(request)
            try expect(response.payload.body.count == 314_159, "wrong payload size")
            try expect(response.messageWasCompressed == compressed,
                       "response_compressed \(compressed), but the compressed flag was \(response.messageWasCompressed)")
        }
    }

    func clientStreaming() async throws {
        let sizes = [27_182, 8, 1_828, 45_904]
        let call = try await test.streamingInputCall(metadata: [:], options: CallOptions())
        for size in sizes {
            var request = Grpc_Testing_StreamingInputCallRequest()
            request.payload = Self.payload(size)
            try await call.requests.send(request)
        }
        call.requests.finish()
        let response = try await call.response
        try expect(response.aggregatedPayloadSize == 74_922, "aggregated size \(response.aggregatedPayloadSize)")
    }

    func clientCompressedStreaming(probe: Bool) async throws {
        func request(size: Int, expectCompressed: Bool) -> Grpc_Testing_StreamingInputCallRequest {
            var request = Grpc_Testing_StreamingInputCallRequest()
            request.payload = Self.payload(size)
            request.expectCompressed = Self.bool(expectCompressed)
            return request
        }
        let options = CallOptions(compression: .gzip)
        if probe {
            _ = try await expectError(.invalidArgument) {
                let call = try await test.streamingInputCall(metadata: [:], options: options)
                try await call.requests.send(request(size: 27_182, expectCompressed: true), compressed: false)
                call.requests.finish()
                _ = try await call.response
            }
        }
        let call = try await test.streamingInputCall(metadata: [:], options: options)
        try await call.requests.send(request(size: 27_182, expectCompressed: true))
        try await call.requests.send(request(size: 45_904, expectCompressed: false), compressed: false)
        call.requests.finish()
        let response = try await call.response
        try expect(response.aggregatedPayloadSize == 73_086, "aggregated size \(response.aggregatedPayloadSize)")
    }

    func serverStreaming(compressed: Bool) async throws {
        let sizes = compressed ? [31_415, 92_653] : [31_415, 9, 2_653, 58_979]
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseParameters = sizes.enumerated().map { index, size in
            var parameters = Grpc_Testing_ResponseParameters()
            parameters.size = Int32(size)
            if compressed { parameters.compressed = Self.bool(index == 0) }
            return parameters
        }
        var received: [Int] = []
        var flags: [Bool] = []
        let responses = try await test.streamingOutputCall(request)
        for try await response in responses {
            received.append(response.payload.body.count)
            flags.append(responses.lastMessageWasCompressed)
        }
        try expect(received == sizes, "received sizes \(received)")
        if compressed {
            try expect(flags == [true, false], "compressed flags \(flags), expected [true, false]")
        }
    }

    func pingPong() async throws {
        let call = try await test.fullDuplexCall()
        var responses = call.responses.makeAsyncIterator()
        for (requestSize, responseSize) in [(27_182, 31_415), (8, 9), (1_828, 2_653), (45_904, 58_979)] {
            var request = Grpc_Testing_StreamingOutputCallRequest()
            var parameters = Grpc_Testing_ResponseParameters()
            parameters.size = Int32(responseSize)
            request.responseParameters = [parameters]
            request.payload = Self.payload(requestSize)
            try await call.requests.send(request)
            let response = try await responses.next()
            try expect(response?.payload.body.count == responseSize, "ping-pong response size")
        }
        call.requests.finish()
        try expect(try await responses.next() == nil, "responses after the last request")
    }

    func emptyStream() async throws {
        let call = try await test.fullDuplexCall()
        call.requests.finish()
        var count = 0
        for try await _ in call.responses { count += 1 }
        try expect(count == 0, "\(count) responses to no requests")
    }

    func customMetadata() async throws {
        let metadata: Metadata = [
            TestServiceProvider.echoInitialKey: "test_initial_metadata_value",
            TestServiceProvider.echoTrailingKey: .binary([0xAB, 0xAB, 0xAB]),
        ]
        var request = largeRequest()
        request.responseSize = 314_159
        let unary = try await test.unaryCall(request, metadata: metadata)
        try expect(unary.headers.first(TestServiceProvider.echoInitialKey) == "test_initial_metadata_value", "initial metadata not echoed")
        try expect(unary.trailers.firstBinary(TestServiceProvider.echoTrailingKey) == [0xAB, 0xAB, 0xAB], "trailing metadata not echoed")

        let call = try await test.fullDuplexCall(metadata: metadata, options: .defaults)
        var streamRequest = Grpc_Testing_StreamingOutputCallRequest()
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = 314_159
        streamRequest.responseParameters = [parameters]
        streamRequest.payload = Self.payload(271_828)
        try await call.requests.send(streamRequest)
        call.requests.finish()
        for try await _ in call.responses {}
        try expect(await call.responses.headers.first(TestServiceProvider.echoInitialKey) == "test_initial_metadata_value",
                   "initial metadata not echoed on the stream")
        try expect(await call.responses.trailers.firstBinary(TestServiceProvider.echoTrailingKey) == [0xAB, 0xAB, 0xAB],
                   "trailing metadata not echoed on the stream")
    }

    func statusCodeAndMessage(message: String) async throws {
        var status = Grpc_Testing_EchoStatus()
        status.code = 2
        status.message = message
        var request = Grpc_Testing_SimpleRequest()
        request.responseStatus = status
        let unary = try await expectError(.unknown) { _ = try await test.unaryCall(request) }
        try expect(unary.message == message, "unary status message \(unary.message.debugDescription)")

        let call = try await test.fullDuplexCall()
        var streamRequest = Grpc_Testing_StreamingOutputCallRequest()
        streamRequest.responseStatus = status
        try await call.requests.send(streamRequest)
        call.requests.finish()
        let streamed = try await expectError(.unknown) { for try await _ in call.responses {} }
        try expect(streamed.message == message, "streaming status message \(streamed.message.debugDescription)")
    }

    /// See ``ExtensionTestCase/richErrorDetails``.
    public func richErrorDetails() async throws {
        var request = Grpc_Testing_SimpleRequest()
        request.responseStatus.code = Int32(StatusCode.failedPrecondition.rawValue)
        request.responseStatus.message = ExtensionTestCase.richErrorDetailsMessage
        let error = try await expectError(.failedPrecondition) { _ = try await test.unaryCall(request) }
        try expect(error.message == ExtensionTestCase.richErrorDetailsMessage, "status message \(error.message.debugDescription)")
        guard let info = error.detail(Google_Rpc_ErrorInfo.self) else {
            throw InteropFailure("no google.rpc.ErrorInfo in the details: \(error.details)")
        }
        try expect(info.reason == "ECHO_STATUS" && info.domain == "grpc.testing", "ErrorInfo \(info)")
        try expect(info.metadata["code"] == String(StatusCode.failedPrecondition.rawValue), "ErrorInfo metadata \(info.metadata)")
    }

    func unimplementedMethod() async throws {
        _ = try await expectError(.unimplemented) { _ = try await test.unimplementedCall(Grpc_Testing_Empty()) }
    }

    func unimplementedService() async throws {
        let service = Grpc_Testing_UnimplementedService.Client(wrapping: client)
        _ = try await expectError(.unimplemented) { _ = try await service.unimplementedCall(Grpc_Testing_Empty()) }
    }

    func cancelAfterBegin() async throws {
        let call = try await test.streamingInputCall()
        call.cancel()
        _ = try await expectError(.cancelled) { _ = try await call.response }
    }

    func cancelAfterFirstResponse() async throws {
        let call = try await test.fullDuplexCall()
        var request = Grpc_Testing_StreamingOutputCallRequest()
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = 31_415
        request.responseParameters = [parameters]
        request.payload = Self.payload(27_182)
        try await call.requests.send(request)
        var responses = call.responses.makeAsyncIterator()
        _ = try await responses.next()
        call.responses.cancel()
        _ = try await expectError(.cancelled) { while try await responses.next() != nil {} }
    }

    /// `calls` unary calls with 64-byte payloads, `concurrency` at a time.
    public func unarySoak(calls: Int, concurrency: Int = 16) async throws {
        let request = Grpc_Testing_SimpleRequest.with {
            $0.responseSize = 64
            $0.payload = Self.payload(64)
        }
        let test = self.test
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var failed = 0
                    for _ in stride(from: worker, to: calls, by: concurrency) {
                        do {
                            let response = try await test.unaryCall(request)
                            if response.payload.body.count != 64 { failed += 1 }
                        } catch {
                            failed += 1
                        }
                    }
                    return failed
                }
            }
            return try await group.reduce(0, +)
        }
        try expect(failures == 0, "\(failures) of \(calls) unary calls failed")
    }

    /// `messages` requests on one full-duplex stream, each answered with a 16-byte payload.
    public func streamingSoak(messages: Int) async throws {
        let request = Grpc_Testing_StreamingOutputCallRequest.with {
            $0.responseParameters = [Grpc_Testing_ResponseParameters.with { $0.size = 16 }]
        }
        let call = try await test.fullDuplexCall()
        let sender = Task {
            for _ in 0..<messages { try await call.requests.send(request) }
            call.requests.finish()
        }
        var received = 0
        var bad = 0
        for try await response in call.responses {
            received += 1
            if response.payload.body.count != 16 { bad += 1 }
        }
        try await sender.value
        try expect(received == messages && bad == 0, "\(received) of \(messages) responses, \(bad) malformed")
    }

    func timeoutOnSleepingServer() async throws {
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.payload = Self.payload(27_182)
        // A 1 ms deadline may pass before the call starts (on a loaded machine it does): the
        // call must end with DEADLINE_EXCEEDED either way.
        _ = try await expectError(.deadlineExceeded) {
            let call = try await test.fullDuplexCall(metadata: [:], options: CallOptions(timeout: .milliseconds(1)))
            try? await call.requests.send(request)
            for try await _ in call.responses {}
        }
    }
}
