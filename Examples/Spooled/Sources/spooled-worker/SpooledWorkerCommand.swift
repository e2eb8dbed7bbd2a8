// A Spooled worker.
//   spooled-worker demo --port 50051 --api-key sk_test_demo --jobs 8
//   spooled-worker work --port 50051 --api-key sk_test_demo --queue emails --concurrency 8
import ArgumentParser
import Foundation

@main
struct SpooledWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spooled-worker", abstract: "Runs a Spooled worker against a server.",
        subcommands: [Demo.self, Work.self], defaultSubcommand: Demo.self)
}

/// Where the server is and how to authenticate.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server port.") var port = 50051
    @Option(name: .customLong("api-key"), help: "API key sent as x-api-key.") var apiKey = "sk_test_demo"
}

/// Writes a line to standard output at once (print buffers when the output is a file or a
/// pipe), so that a script can follow the worker.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
