import Foundation
import SeedServices
import Sluice
import SluiceHealth
import SluiceHTTP2
import SluiceTestSupport
import Testing

@Suite("Status snapshots of servers and channels", .serialized, .timeLimit(.minutes(1)))
struct StatusSnapshotTests {
    @Test("a server's snapshot lists its services, their health, connections and calls in flight; a channel's its endpoints")
    func snapshots() async throws {
        let health = HealthService()
        health.setStatus(.notServing, for: "chat.ChatService")
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
        let server = GRPCServer(transport: transport, services: [CatalogService(), ChatService(), health])
        let serving = Task { try await server.serve() }
        defer { serving.cancel() }
        let port = try #require(try await server.listeningAddress.port)
        let channel = try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)", circuitBreaker: CircuitBreakerConfiguration())
        let client = GRPCClient(transport: channel)
        defer { Task { await client.close() } }

        let chat = try await Chat_ChatService.Client(wrapping: client).chat()
        try await chat.requests.send(Chat_ChatMessage())
        var replies = chat.responses.makeAsyncIterator()
        _ = try await replies.next()

        let status = server.statusSnapshot(health: health)
        #expect(status.services.map(\.name) == ["catalog.ProductService", "chat.ChatService", "grpc.health.v1.Health"])
        #expect(status.services.first?.methods == ["GetProduct", "GetRecommendations", "ListProducts"])
        #expect(status.services.map(\.health) == [nil, "NOT_SERVING", nil])
        #expect(status.health == "SERVING")
        #expect(status.transport == ServerTransportActivity(
            listeningAddress: "ipv4:127.0.0.1:\(port)", openConnections: 1, callsInFlight: 1, shuttingDown: false))
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(json.contains(#""health":"NOT_SERVING""#), "\(json)")
        #expect(try JSONDecoder().decode(ServerStatusSnapshot.self, from: Data(json.utf8)) == status)

        chat.requests.finish()
        while try await replies.next() != nil {}
        try await waitWhile { server.statusSnapshot().transport?.callsInFlight != 0 }

        let channelStatus = channel.statusSnapshot()
        #expect(channelStatus.target == "ipv4:127.0.0.1:\(port)")
        #expect(channelStatus.state == "READY")
        #expect(channelStatus.loadBalancingPolicy == "pick_first")
        #expect(channelStatus.subchannels.map(\.state) == ["READY"])
        #expect(channelStatus.subchannels.first?.endpoint.contains("127.0.0.1:\(port)") == true)
        #expect(channelStatus.subchannels.first?.circuitBreaker?.state == "CLOSED")
        #expect((channelStatus.subchannels.first?.circuitBreaker?.successful ?? 0) >= 1)
        #expect(GRPCServer(transport: InProcessTransport.makePair().server, services: []).statusSnapshot().transport == nil)
    }
}
