import Foundation
import InteropMessages
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceTestSupport
import Testing

/// A server-streaming request for `count` responses, `interval` apart.
func slowStream(_ count: Int, every interval: Duration) -> Grpc_Testing_StreamingOutputCallRequest {
    var request = Grpc_Testing_StreamingOutputCallRequest()
    request.responseParameters = (0..<count).map { _ in
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = 10
        parameters.intervalUs = Int32(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)
        return parameters
    }
    return request
}

/// interop-server runs its server under a swift-service-lifecycle ServiceGroup that shuts
/// down gracefully on SIGTERM; these tests signal the real process while calls are in flight.
@Suite("Service lifecycle: SIGTERM to a real server process", .serialized, .timeLimit(.minutes(2)))
struct ServiceLifecycleTests {
    func startServer(_ arguments: [String]) async throws -> (ChildProcess, Int) {
        let server = try ChildProcess(buildDirectory.appending(path: "interop-server").path, ["--port", "0"] + arguments)
        let line = try await server.waitForLine(containing: "listening on port")
        return (server, Int(line.split(separator: " ").last ?? "") ?? 0)
    }

    @Test("calls in flight finish, health turns NOT_SERVING, new calls are refused, the process exits 0")
    func drains() async throws {
        let (server, port) = try await startServer(["--grace_period_s", "20"])
        defer { server.killNow() }
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        defer { Task { await client.close() } }
        let test = Grpc_Testing_TestService.Client(wrapping: client)
        let watch = try await Grpc_Health_V1_Health.Client(wrapping: client).watch(Grpc_Health_V1_HealthCheckRequest())
        var statuses = watch.makeAsyncIterator()
        #expect(try await statuses.next()?.status == .serving)

        let stream = try await test.streamingOutputCall(slowStream(8, every: .milliseconds(250)))
        var responses = stream.makeAsyncIterator()
        #expect(try await responses.next() != nil)
        let signalled = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)
        #expect(try await statuses.next()?.status == .notServing)
        #expect(try await statuses.next() == nil, "the watch ends, so that it does not hold the server open")

        // A new connection is refused once the server has stopped listening.
        try await Task.sleep(for: .milliseconds(200))
        let late = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        let refused = await #expect(throws: RPCError.self) {
            _ = try await Grpc_Testing_TestService.Client(wrapping: late).emptyCall(Grpc_Testing_Empty())
        }
        #expect(refused?.code == .unavailable)
        await late.close()

        var received = 1
        do {
            while try await responses.next() != nil { received += 1 }
        } catch {
            Issue.record("the call in flight failed after \(received) responses: \(error)")
        }
        #expect(received == 8, "the call in flight was cut short after \(received) responses")
        let exit = await server.finish()
        #expect(exit.status == 0, "\(exit.output)")
        #expect(exit.output.contains("interop-server stopped"))
        // Once its calls have drained, well within the 20 s grace period.
        #expect(ContinuousClock.now - signalled < .seconds(12))
    }

    @Test("a call longer than the grace period is cancelled when it ends, and the process still exits 0")
    func gracePeriodEnds() async throws {
        let (server, port) = try await startServer(["--grace_period_s", "1"])
        defer { server.killNow() }
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        defer { Task { await client.close() } }
        let stream = try await Grpc_Testing_TestService.Client(wrapping: client)
            .streamingOutputCall(slowStream(40, every: .milliseconds(250)))
        var responses = stream.makeAsyncIterator()
        #expect(try await responses.next() != nil)
        let signalled = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)
        var received = 1
        let error = await #expect(throws: RPCError.self) {
            while try await responses.next() != nil { received += 1 }
        }
        #expect(error.map { [.cancelled, .unavailable].contains($0.code) } == true, "\(String(describing: error))")
        #expect(received < 40)
        let exit = await server.finish()
        #expect(exit.status == 0, "\(exit.output)")
        // Cut at the grace period (1 s), not after the call's 10 s.
        #expect(ContinuousClock.now - signalled < .seconds(6))
    }
}
