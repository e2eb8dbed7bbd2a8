// Sluice unary RPCs, client and server in one process, for profilers: heaptrack (allocation
// sites) and perf. Unlike rpc-benchmarks it does not link AllocationCounter, whose malloc
// would hide allocations from heaptrack's hooks.
//
//   heaptrack .build/release/rpc-profile --calls 5000
//   perf record -g .build/release/rpc-profile --calls 200000
//   perf record -g .build/release/rpc-profile --stream 2000000     (one bidirectional stream)
//   ... --retry                                                      (with a retry policy configured)
import Foundation
import Sluice
import SluiceBenchMessages
import SluiceHTTP2

struct Echo: Bench_Echo.ServiceProtocol {
    func unary(request: Bench_Item, context: ServerContext) async throws -> Bench_Item { request }

    func stream(requests: RequestStream<Bench_Item>, responses: MessageWriter<Bench_Item>,
                context: ServerContext) async throws {
        for try await item in requests { try await responses.write(item) }
    }
}

let arguments = CommandLine.arguments
let calls = arguments.firstIndex(of: "--calls").flatMap { Int(arguments[$0 + 1]) } ?? 5_000
let concurrency = arguments.firstIndex(of: "--concurrency").flatMap { Int(arguments[$0 + 1]) } ?? 1
let streamed = arguments.firstIndex(of: "--stream").flatMap { Int(arguments[$0 + 1]) }
let retryConfig = try ServiceConfig(json: """
    {"methodConfig": [{"name": [{"service": "bench.Echo"}],
      "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
    """)
let serviceConfig = arguments.contains("--retry") ? retryConfig : ServiceConfig()

let serverTransport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
let server = GRPCServer(transport: serverTransport, services: [Echo()])
let serving = Task { try await server.serve() }
let port = try await serverTransport.listeningAddress.port ?? 0
let clientTransport = try HTTP2ClientTransport(target: .host("127.0.0.1", port: port))
let client = Bench_Echo.Client(wrapping: GRPCClient(transport: clientTransport, serviceConfig: serviceConfig))
var item = Bench_Item()
item.id = 42
item.name = "benchmark item"
item.price = 9.99
item.flags = [1, 2, 3]
let request = item

let start = ContinuousClock.now
if let streamed {
    let call = try await client.stream(metadata: [:], options: .defaults)
    let sender = Task {
        for _ in 0..<streamed { try await call.requests.send(request) }
        call.requests.finish()
    }
    var received = 0
    for try await _ in call.responses { received += 1 }
    try await sender.value
    print("\(received) messages echoed in \(start.duration(to: .now))")
} else {
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<concurrency {
        group.addTask {
            for _ in 0..<(calls / concurrency) { _ = try await client.unary(request) }
        }
    }
    try await group.waitForAll()
}
print("\(calls) calls in \(start.duration(to: .now))")
}
await clientTransport.close()
serving.cancel()
