import Foundation
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

func healthRequest(_ service: String) -> Grpc_Health_V1_HealthCheckRequest {
    var request = Grpc_Health_V1_HealthCheckRequest()
    request.service = service
    return request
}

@Suite("The health service (grpc.health.v1)", .serialized, .timeLimit(.minutes(2)))
struct HealthServiceTests {
    @Test("Check: SERVING for the server, NOT_FOUND for an unknown service; Watch: SERVICE_UNKNOWN, then every change")
    func semantics() async throws {
        let health = HealthService()
        try await withHTTP2Server([health]) { client, _ in
            let stub = Grpc_Health_V1_Health.Client(wrapping: client)
            #expect(try await stub.check(healthRequest("")).status == .serving)
            await #expect(throws: RPCError(code: .notFound, message: "unknown service orders")) {
                _ = try await stub.check(healthRequest("orders"))
            }
            let watch = try await stub.watch(healthRequest("orders"))
            var updates = watch.makeAsyncIterator()
            #expect(try await updates.next()?.status == .serviceUnknown)
            health.setStatus(.notServing, for: "orders")
            #expect(try await updates.next()?.status == .notServing)
            health.setStatus(.notServing, for: "orders")   // unchanged: nothing sent
            health.setStatus(.serving, for: "orders")
            #expect(try await updates.next()?.status == .serving)
            #expect(try await stub.check(healthRequest("orders")).status == .serving)
            health.shutDown()
            #expect(try await updates.next()?.status == .notServing)
            #expect(try await stub.check(healthRequest("")).status == .notServing)
            watch.cancel()
        }
    }

    @Test("grpcio-health-checking's client agrees with the Sluice health server")
    func pythonClient() async throws {
        let health = HealthService()
        try await withHTTP2Server([health]) { _, target in
            guard case .host(_, let port) = target else { return }
            let peer = try ChildProcess("python3", ["Tests/Interop/health_peer.py", "client", "\(port)"])
            _ = try await peer.waitForLine(containing: "check '' SERVING")
            _ = try await peer.waitForLine(containing: "check nope NOT_FOUND")
            _ = try await peer.waitForLine(containing: "watch SERVICE_UNKNOWN")
            health.setStatus(.serving, for: "svc")
            _ = try await peer.waitForLine(containing: "watch SERVING")
            health.setStatus(.notServing, for: "svc")
            _ = try await peer.waitForLine(containing: "done")
            let result = await peer.finish()
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test("the Sluice client agrees with grpcio-health-checking's server")
    func pythonServer() async throws {
        let peer = try ChildProcess("python3", ["Tests/Interop/health_peer.py", "server"])
        let line = try await peer.waitForLine(containing: "health server listening on port")
        let port = try #require(Int(line.split(separator: " ").last ?? ""))
        let client = GRPCClient(transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: port)))
        let stub = Grpc_Health_V1_Health.Client(wrapping: client)
        #expect(try await stub.check(healthRequest("")).status == .serving)
        await #expect(throws: RPCError.self) {
            do { _ = try await stub.check(healthRequest("unknown")) } catch let error as RPCError {
                #expect(error.code == .notFound)
                throw error
            }
        }
        var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
        for try await response in try await stub.watch(healthRequest("svc")) {
            statuses.append(response.status)
            if response.status == .serving { break }
        }
        #expect(statuses == [.notServing, .serving])
        await client.close()
        await peer.kill()
    }
}

@Suite("The periodic health monitor", .timeLimit(.minutes(1)))
struct HealthMonitorTests {
    @Test("each endpoint's latest status: serving, not serving, unknown service, unreachable after its retries")
    func statuses() async throws {
        let healthy = HealthService()
        healthy.setStatus(.serving, for: "orders")
        let sick = HealthService()
        sick.setStatus(.notServing, for: "orders")
        var servers: [Task<Void, any Error>] = []
        var endpoints: [Endpoint] = []
        for health in [healthy, sick, HealthService()] {
            let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
            let server = GRPCServer(transport: transport, services: [health])
            servers.append(Task { try await server.serve() })
            endpoints.append(Endpoint(.ipv4(host: "127.0.0.1", port: try await server.listeningAddress.port ?? 0)))
        }
        // And a port with nothing behind it.
        let gone = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let goneServer = GRPCServer(transport: gone, services: [])
        let goneTask = Task { try await goneServer.serve() }
        endpoints.append(Endpoint(.ipv4(host: "127.0.0.1", port: try await gone.listeningAddress.port ?? 0)))
        goneTask.cancel()
        try await goneTask.value

        let monitor = try HealthMonitor(endpoints: endpoints, subchannels: HTTP2SubchannelFactory(), service: "orders",
                                        interval: .milliseconds(100), timeout: .seconds(10), retries: 2)
        let running = Task { await monitor.run() }
        try await waitWhile { monitor.statuses.count < 4 }
        let statuses = monitor.statuses
        #expect(statuses[endpoints[0]]?.isServing == true)
        #expect(statuses[endpoints[1]]?.status == .notServing)
        #expect(statuses[endpoints[2]]?.error?.code == .notFound)
        #expect(statuses[endpoints[2]]?.tries == 1)
        #expect(statuses[endpoints[3]]?.error?.code == .unavailable)
        #expect(statuses[endpoints[3]]?.tries == 3)
        // A change shows in a later round.
        sick.setStatus(.serving, for: "orders")
        try await waitWhile { monitor.statuses[endpoints[1]]?.isServing != true }
        running.cancel()
        await running.value
        for server in servers { server.cancel() }
    }
}
