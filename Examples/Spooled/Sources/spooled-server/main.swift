// Spooled's gRPC API (QueueService and WorkerService) on an in-memory store.
//   spooled-server --port 50051 --api-key sk_test_demo
import ArgumentParser
import Foundation
import Sluice
import SluiceHTTP2
import SpooledQueue

@main
struct SpooledServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spooled-server", abstract: "Serves the Spooled job queue over gRPC.")

    @Option(help: "Port to listen on (0 picks one).") var port = 50051
    @Option(name: .customLong("api-key"), help: "An API key clients must send as x-api-key.") var apiKeys: [String] = ["sk_test_demo"]

    func run() async throws {
        let store = JobStore()
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: port))
        let server = GRPCServer(
            transport: transport,
            services: [QueueServiceProvider(store: store), WorkerServiceProvider(store: store)],
            interceptors: [APIKeyInterceptor(keys: Set(apiKeys))])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let address = try await transport.listeningAddress
            FileHandle.standardOutput.write(Data("spooled-server listening on port \(address.port ?? port)\n".utf8))
            try await group.next()
        }
    }
}
