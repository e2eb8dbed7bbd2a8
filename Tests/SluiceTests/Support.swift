import Foundation
import SeedServices
import Sluice
import SluiceProto
import Synchronization
import SluiceTestSupport
import Testing

/// Runs `body` against a server hosting `services` over the in-process transport, then shuts
/// the server down and waits for it.
func withInProcessServer<T: Sendable>(
    _ services: [any RegistrableService],
    serverInterceptors: [any ServerInterceptor] = [],
    clientInterceptors: [any ClientInterceptor] = [],
    _ body: (GRPCClient) async throws -> T
) async throws -> T {
    let (clientTransport, serverTransport) = InProcessTransport.makePair()
    let server = GRPCServer(transport: serverTransport, services: services, interceptors: serverInterceptors)
    let serving = Task { try await server.serve() }
    // Calls made earlier would wait for the server; tests that time their calls start once it
    // listens.
    _ = try await server.listeningAddress
    let client = GRPCClient(transport: clientTransport, interceptors: clientInterceptors)
    do {
        let result = try await body(client)
        server.beginGracefulShutdown()
        try await serving.value
        return result
    } catch {
        server.beginGracefulShutdown()
        _ = try? await serving.value
        throw error
    }
}

