// A Spooled worker.
//   spooled-worker demo --port 50051 --api-key sk_test_demo --jobs 8
//   spooled-worker work --port 50051 --api-key sk_test_demo --queue emails --concurrency 8
//   spooled-worker work --target etcd:///spooled --registry etcd://127.0.0.1:2379 --queue emails
import ArgumentParser
import Foundation
import Sluice
import SluiceEtcd
import SluiceHTTP2

@main
struct SpooledWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spooled-worker", abstract: "Runs a Spooled worker against a server.",
        subcommands: [Demo.self, Work.self], defaultSubcommand: Demo.self)
}

/// Where the server is and how to authenticate.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server port (on 127.0.0.1), when no --target is given.") var port = 50051
    @Option(help: "The servers, as a gRPC target: ipv4:HOST:PORT[,HOST:PORT...], dns:///NAME:PORT, or etcd:///spooled with --registry.")
    var target: String?
    @Option(help: "The etcd that etcd:/// targets resolve in: etcd://HOST:PORT[,HOST:PORT...].") var registry: String?
    @Option(name: .customLong("api-key"), help: "API key sent as x-api-key.") var apiKey = "sk_test_demo"

    /// The target calls go to.
    var resolvedTarget: String { target ?? "ipv4:127.0.0.1:\(port)" }

    func validate() throws {
        if resolvedTarget.hasPrefix("etcd:"), registry == nil {
            throw ValidationError("--target \(resolvedTarget) needs --registry etcd://HOST:PORT")
        }
    }

    /// A channel to the servers, balancing round robin over every address the target names.
    /// With `--registry`, `etcd:///<service>` follows the service's instances in etcd.
    func channel(serviceConfig: ServiceConfig? = nil) throws -> (channel: GRPCChannel, etcd: EtcdClient?) {
        var resolvers = NameResolverRegistry.http2
        var etcd: EtcdClient?
        if let registry {
            let configuration: EtcdConfiguration
            do {
                configuration = try EtcdConfiguration(url: registry)
            } catch let error as EtcdError {
                throw ValidationError("--registry: \(error)")
            }
            let client = try EtcdClient(configuration)
            resolvers.register(EtcdServiceRegistry(client: client).resolverFactory)
            etcd = client
        }
        let config = try serviceConfig ?? ServiceConfig(json: #"{"loadBalancingConfig": [{"round_robin": {}}]}"#)
        return (try GRPCChannel(http2: resolvedTarget, defaultServiceConfig: config, resolvers: resolvers), etcd)
    }
}

/// Writes a line to standard output at once (print buffers when the output is a file or a
/// pipe), so that a script can follow the worker.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
