import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import Synchronization
import SluiceTestSupport
import Testing

/// Runs `body` against a server hosting `services` on a real loopback socket.
func withHTTP2Server<T: Sendable>(
    _ services: [any RegistrableService],
    target: SocketTarget = .host("127.0.0.1", port: 0),
    serverConfiguration: HTTP2ServerTransport.Configuration = .init(),
    clientConfiguration: HTTP2ClientTransport.Configuration = .init(),
    serverInterceptors: [any ServerInterceptor] = [],
    _ body: (GRPCClient, SocketTarget) async throws -> T
) async throws -> T {
    let serverTransport = HTTP2ServerTransport(target: target, configuration: serverConfiguration)
    let server = GRPCServer(transport: serverTransport, services: services, interceptors: serverInterceptors)
    let serving = Task { try await server.serve() }
    let address = try await serverTransport.listeningAddress
    let clientTarget: SocketTarget
    switch target {
    case .host(let host, _): clientTarget = .host(host, port: address.port ?? 0)
    case .unixDomainSocket: clientTarget = target
    }
    let transport = try HTTP2ClientTransport(target: clientTarget, configuration: clientConfiguration)
    let client = GRPCClient(transport: transport)
    do {
        let result = try await body(client, clientTarget)
        await client.close()
        server.beginGracefulShutdown()
        try await serving.value
        return result
    } catch {
        await client.close()
        server.beginGracefulShutdown()
        _ = try? await serving.value
        throw error
    }
}

