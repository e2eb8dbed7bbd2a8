// Tail latency with and without hedging (gRFC A6): two Sluice servers behind one round_robin
// channel, one of which delays 10% of its calls by 500 ms, the scenario of the channel issue.
//   rpc-benchmarks hedging [--seconds 5]
import Foundation
import Sluice
import SluiceBenchMessages
import SluiceHTTP2
import Synchronization

/// Echoes, delaying every tenth call by 500 ms (a GC pause, a slow disk).
struct SometimesSlowEcho: SluiceBenchMessages.Bench_Echo.ServiceProtocol {
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    let calls = Counter()

    func unary(request: SluiceBenchMessages.Bench_Item, context: Sluice.ServerContext) async throws -> SluiceBenchMessages.Bench_Item {
        let count = calls.value.withLock { count in
            count += 1
            return count
        }
        if count % 10 == 0 { try await Task.sleep(for: .milliseconds(500)) }
        return request
    }

    func stream(requests: Sluice.RequestStream<SluiceBenchMessages.Bench_Item>,
                responses: Sluice.MessageWriter<SluiceBenchMessages.Bench_Item>,
                context: Sluice.ServerContext) async throws {
        for try await item in requests { try await responses.write(item) }
    }
}

/// Starts a server with `service` on a loopback port; returns the port and its task.
func startEchoServer(_ service: any Sluice.RegistrableService) async throws -> (Int, Task<Void, any Error>) {
    let transport = SluiceHTTP2.HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
    let server = Sluice.GRPCServer(transport: transport, services: [service])
    let task = Task { try await server.serve() }
    return (try await transport.listeningAddress.port ?? 0, task)
}

/// Unary calls from 4 tasks for `seconds`; the sorted latencies.
func unaryLatencies(_ client: SluiceBenchMessages.Bench_Echo.Client, seconds: Double) async throws -> [Duration] {
    let item = echoItem()
    let end = ContinuousClock.now + .nanoseconds(Int64(seconds * 1e9))
    return try await withThrowingTaskGroup(of: [Duration].self) { group in
        for _ in 0..<4 {
            group.addTask {
                var samples: [Duration] = []
                while ContinuousClock.now < end {
                    let begin = ContinuousClock.now
                    _ = try await client.unary(item)
                    samples.append(begin.duration(to: .now))
                }
                return samples
            }
        }
        var all: [Duration] = []
        for try await samples in group { all += samples }
        return all.sorted()
    }
}

func hedgingBenchmark(seconds: Double) async throws {
    let (fastPort, fast) = try await startEchoServer(SluiceEcho())
    let (slowPort, slow) = try await startEchoServer(SometimesSlowEcho())
    defer {
        fast.cancel()
        slow.cancel()
    }
    let target = "ipv4:127.0.0.1:\(fastPort),127.0.0.1:\(slowPort)"
    let plain = Sluice.ServiceConfig(loadBalancingConfig: [.roundRobin])
    let hedged = try Sluice.ServiceConfig(json: """
        {"loadBalancingConfig": [{"round_robin": {}}],
         "methodConfig": [{"name": [{"service": "bench.Echo"}],
           "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.02s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}
        """)
    print("Unary calls from 4 tasks for \(seconds) s over round_robin to two servers, one delaying every tenth call by 500 ms")
    print("config          calls     p50 us     p90 us     p99 us     max us")
    for (label, config) in [("no hedging", plain), ("hedging 20 ms", hedged)] {
        let channel = try GRPCChannel(http2: target, defaultServiceConfig: config)
        let client = Sluice.GRPCClient(transport: channel, serviceConfig: config)
        let api = SluiceBenchMessages.Bench_Echo.Client(wrapping: client)
        for _ in 0..<20 { _ = try await api.unary(echoItem()) }
        let latencies = try await unaryLatencies(api, seconds: seconds)
        func at(_ fraction: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))].micros }
        print(label.padding(toLength: 14, withPad: " ", startingAt: 0)
              + String(format: "%7d %10.0f %10.0f %10.0f %10.0f", latencies.count, at(0.5), at(0.9), at(0.99),
                       latencies.last?.micros ?? 0))
        await channel.close()
    }
}
