// RPCs over HTTP/2 on loopback: Sluice against grpc-swift 2.4 (grpc-swift-nio-transport 2.9),
// the same echo service and payload, server and load generator in separate processes pinned
// to different cores.
//
//   swift run -c release rpc-benchmarks [--seconds 5]      orchestrates everything below,
//                                                          with Python grpcio and grpc-go as
//                                                          further peers
//   rpc-benchmarks server --impl sluice|grpc-swift --port P
//   rpc-benchmarks client --impl sluice|sluice-retry|grpc-swift --port P --concurrency C --seconds S --kind unary|stream
//   rpc-benchmarks allocations --impl sluice|sluice-retry|grpc-swift
//   rpc-benchmarks hedging [--seconds S]                   tail latency with and without hedging
//   rpc-benchmarks observability [--seconds S] [--rounds N] Sluice with metrics, logging and
//                                                          tracing on against the same off
//   rpc-benchmarks metrics-cost [--calls N]                the metrics' bookkeeping per call alone
import AllocationCounter
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import InMemoryTracing
import Logging
import Prometheus
import Sluice
import SluiceBenchMessages
import SluiceHTTP2
import SluiceObservability
import SluicePrometheus
import Tracing
import SwiftProtobufBenchMessages

// MARK: - Arguments

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

enum Impl: String, CaseIterable {
    case sluice
    /// Sluice's client with a retry policy for every bench.Echo call, never triggered (the
    /// server is Sluice's): what configuring retries costs.
    case sluiceRetry = "sluice-retry"
    case grpcSwift = "grpc-swift"
    /// Sluice with an interceptor on both sides that only passes the call on: what having an
    /// interceptor at all costs.
    case sluicePassThrough = "sluice-pass-through"
    /// Sluice with gRFC A66's metrics interceptors on both sides, into swift-prometheus.
    case sluiceMetrics = "sluice-metrics"
    /// Sluice with tracing interceptors on both sides, into an in-memory tracer.
    case sluiceTraced = "sluice-traced"
    /// Sluice with everything: correlation, logging (at a level that writes nothing per
    /// call), metrics into swift-prometheus, and tracing through the default no-op tracer.
    case sluiceObserved = "sluice-observed"
    /// Python grpcio (gRPC C-core) on grpc.aio: `Benchmarks/python/grpcio_peer.py`.
    case grpcio
    /// grpc-go from Debian's golang-google-grpc-dev: `Benchmarks/go/grpcgo-bench`, built by
    /// the orchestrator.
    case grpcGo = "grpc-go"

    /// Peers that run as their own executables rather than as modes of this one.
    var isExternal: Bool { self == .grpcio || self == .grpcGo }
}

// MARK: - Observability interceptors

/// A logger whose level drops the per-call events (logged at info): what a service that logs
/// only warnings pays.
let quietLogger: Logger = {
    var logger = Logger(label: "bench") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}()

struct PassThroughServer: Sluice.ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: Sluice.StreamingServerRequest<Input>, context: Sluice.ServerContext,
        next: @Sendable (Sluice.StreamingServerRequest<Input>, Sluice.ServerContext) async throws -> Sluice.StreamingServerResponse<Output>
    ) async throws -> Sluice.StreamingServerResponse<Output> {
        try await next(request, context)
    }
}

struct PassThroughClient: Sluice.ClientInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: Sluice.StreamingClientRequest<Input>, context: Sluice.ClientContext,
        next: @Sendable (Sluice.StreamingClientRequest<Input>, Sluice.ClientContext) async throws -> Sluice.StreamingClientResponse<Output>
    ) async throws -> Sluice.StreamingClientResponse<Output> {
        try await next(request, context)
    }
}

func serverInterceptors(_ impl: Impl) -> [any Sluice.ServerInterceptor] {
    switch impl {
    case .sluicePassThrough:
        return [PassThroughServer()]
    case .sluiceMetrics:
        return [ServerMetricsInterceptor(factory: GRPCPrometheusNaming.metricsFactory(registry: PrometheusCollectorRegistry()))]
    case .sluiceTraced:
        return [ServerTracingInterceptor(tracer: InMemoryTracer())]
    case .sluiceObserved:
        return [ServerCorrelationInterceptor(), ServerLoggingInterceptor(logger: quietLogger),
                ServerMetricsInterceptor(factory: GRPCPrometheusNaming.metricsFactory(registry: PrometheusCollectorRegistry())),
                ServerTracingInterceptor()]
    default:
        return []
    }
}

func clientInterceptors(_ impl: Impl, port: Int) -> [any Sluice.ClientInterceptor] {
    let target = "ipv4:127.0.0.1:\(port)"
    switch impl {
    case .sluicePassThrough:
        return [PassThroughClient()]
    case .sluiceMetrics:
        return [ClientMetricsInterceptor(target: target, factory: GRPCPrometheusNaming.metricsFactory(registry: PrometheusCollectorRegistry()))]
    case .sluiceTraced:
        return [ClientTracingInterceptor(tracer: InMemoryTracer())]
    case .sluiceObserved:
        return [ClientCorrelationInterceptor(), ClientLoggingInterceptor(logger: quietLogger, target: target),
                ClientMetricsInterceptor(target: target, factory: GRPCPrometheusNaming.metricsFactory(registry: PrometheusCollectorRegistry())),
                ClientTracingInterceptor()]
    default:
        return []
    }
}

/// This package's folder.
let benchmarksFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// The Python peer.
let grpcioPeer = benchmarksFolder.appending(path: "python/grpcio_peer.py").path
/// Where the grpc-go peer is built.
let grpcGoPeer = FileManager.default.temporaryDirectory.appending(path: "sluice-grpcgo-bench").path

/// Builds the grpc-go peer offline against Debian's packaged sources.
func buildGRPCGoPeer() throws {
    let build = Process()
    build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    build.arguments = ["go", "build", "-o", grpcGoPeer, "."]
    build.currentDirectoryURL = benchmarksFolder.appending(path: "go/grpcgo-bench")
    var environment = ProcessInfo.processInfo.environment
    environment["GO111MODULE"] = "off"
    environment["GOPATH"] = "/usr/share/gocode"
    environment["GOCACHE"] = FileManager.default.temporaryDirectory.appending(path: "sluice-gocache").path
    build.environment = environment
    try build.run()
    build.waitUntilExit()
    guard build.terminationStatus == 0 else {
        throw BenchmarkError(description: "building the grpc-go peer failed; scripts/setup installs golang-go and golang-google-grpc-dev")
    }
}

func echoItem() -> SluiceBenchMessages.Bench_Item {
    var item = SluiceBenchMessages.Bench_Item()
    item.id = 42
    item.name = "benchmark item"
    item.price = 9.99
    item.flags = [1, 2, 3]
    return item
}

// MARK: - Sluice echo service

struct SluiceEcho: SluiceBenchMessages.Bench_Echo.ServiceProtocol {
    func unary(request: SluiceBenchMessages.Bench_Item, context: Sluice.ServerContext) async throws -> SluiceBenchMessages.Bench_Item {
        request
    }

    func stream(requests: Sluice.RequestStream<SluiceBenchMessages.Bench_Item>,
                responses: Sluice.MessageWriter<SluiceBenchMessages.Bench_Item>,
                context: Sluice.ServerContext) async throws {
        for try await item in requests { try await responses.write(item) }
    }
}

// MARK: - grpc-swift 2 echo service, written against GRPCCore directly

typealias PItem = SwiftProtobufBenchMessages.Bench_Item

enum GRPCSwiftEcho {
    static let unary = GRPCCore.MethodDescriptor(fullyQualifiedService: "bench.Echo", method: "Unary")
    static let stream = GRPCCore.MethodDescriptor(fullyQualifiedService: "bench.Echo", method: "Stream")
}

struct GRPCSwiftEchoService: RegistrableRPCService {
    func registerMethods<Transport: GRPCCore.ServerTransport>(with router: inout GRPCCore.RPCRouter<Transport>) {
        router.registerHandler(forMethod: GRPCSwiftEcho.unary, deserializer: ProtobufDeserializer<PItem>(),
                               serializer: ProtobufSerializer<PItem>()) { request, context in
            let message = try await request.messages.first(where: { _ in true })
            return GRPCCore.StreamingServerResponse(single: ServerResponse(message: message ?? PItem()))
        }
        router.registerHandler(forMethod: GRPCSwiftEcho.stream, deserializer: ProtobufDeserializer<PItem>(),
                               serializer: ProtobufSerializer<PItem>()) { request, context in
            GRPCCore.StreamingServerResponse(of: PItem.self) { writer in
                for try await item in request.messages { try await writer.write(item) }
                return [:]
            }
        }
    }
}

// MARK: - Servers

func runServer(_ impl: Impl, port: Int) async throws {
    switch impl {
    case .grpcio, .grpcGo:
        throw BenchmarkError(description: "the \(impl) server is a process of its own")
    case .sluice, .sluiceRetry, .sluicePassThrough, .sluiceMetrics, .sluiceTraced, .sluiceObserved:
        let transport = SluiceHTTP2.HTTP2ServerTransport(target: .host("127.0.0.1", port: port))
        let server = Sluice.GRPCServer(transport: transport, services: [SluiceEcho()], interceptors: serverInterceptors(impl))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            announce(try await transport.listeningAddress.port ?? port)
            try await group.next()
        }
    case .grpcSwift:
        let transport = GRPCNIOTransportHTTP2.HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext)
        let server = GRPCCore.GRPCServer(transport: transport, services: [GRPCSwiftEchoService()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            announce(try await transport.listeningAddress.ipv4?.port ?? port)
            try await group.next()
        }
    }
}

func announce(_ port: Int) {
    FileHandle.standardOutput.write(Data("listening on port \(port)\n".utf8))
}

// MARK: - Load

/// A unary call or a stream of echoes, made the same way for both libraries.
protocol LoadClient: Sendable {
    func unary() async throws
    /// Sends and receives `count` messages on one bidirectional stream.
    func stream(count: Int) async throws
}

struct SluiceLoad: LoadClient {
    let api: SluiceBenchMessages.Bench_Echo.Client
    let item = echoItem()

    func unary() async throws {
        _ = try await api.unary(item)
    }

    func stream(count: Int) async throws {
        let call = try await api.stream(metadata: [:], options: .defaults)
        let item = self.item
        Task {
            for _ in 0..<count { try await call.requests.send(item) }
            call.requests.finish()
        }
        var received = 0
        for try await _ in call.responses { received += 1 }
        precondition(received == count)
    }
}

struct GRPCSwiftLoad: LoadClient {
    let client: GRPCCore.GRPCClient<GRPCNIOTransportHTTP2.HTTP2ClientTransport.Posix>
    let item: PItem

    init(client: GRPCCore.GRPCClient<GRPCNIOTransportHTTP2.HTTP2ClientTransport.Posix>) throws {
        self.client = client
        self.item = try PItem(serializedBytes: echoItem().serializedBytes())
    }

    func unary() async throws {
        _ = try await client.unary(request: ClientRequest(message: item), descriptor: GRPCSwiftEcho.unary,
                                   serializer: ProtobufSerializer<PItem>(), deserializer: ProtobufDeserializer<PItem>(),
                                   options: GRPCCore.CallOptions.defaults) { try $0.message }
    }

    func stream(count: Int) async throws {
        let item = self.item
        let request = GRPCCore.StreamingClientRequest<PItem> { writer in
            for _ in 0..<count { try await writer.write(item) }
        }
        let received = try await client.bidirectionalStreaming(
            request: request, descriptor: GRPCSwiftEcho.stream, serializer: ProtobufSerializer<PItem>(),
            deserializer: ProtobufDeserializer<PItem>(), options: GRPCCore.CallOptions.defaults
        ) { response in
            var received = 0
            for try await _ in response.messages { received += 1 }
            return received
        }
        precondition(received == count)
    }
}

/// Runs `body` with a connected load client of `impl`.
func withLoadClient<T: Sendable>(_ impl: Impl, port: Int, _ body: @Sendable (any LoadClient) async throws -> T) async throws -> T {
    switch impl {
    case .grpcio, .grpcGo:
        throw BenchmarkError(description: "the \(impl) client is a process of its own")
    case .sluice, .sluiceRetry, .sluicePassThrough, .sluiceMetrics, .sluiceTraced, .sluiceObserved:
        let transport = try SluiceHTTP2.HTTP2ClientTransport(target: .host("127.0.0.1", port: port))
        let client = Sluice.GRPCClient(transport: transport, interceptors: clientInterceptors(impl, port: port),
                                       serviceConfig: impl == .sluiceRetry ? try retryPolicyConfig() : .init())
        let result = try await body(SluiceLoad(api: .init(wrapping: client)))
        await client.close()
        return result
    case .grpcSwift:
        let transport = try GRPCNIOTransportHTTP2.HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        let client = GRPCCore.GRPCClient(transport: transport)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.runConnections()
                return nil
            }
            let result = try await body(try GRPCSwiftLoad(client: client))
            client.beginGracefulShutdown()
            for try await _ in group {}
            return result
        }
    }
}

/// A retry policy for every bench.Echo method, as an application would configure one.
func retryPolicyConfig() throws -> Sluice.ServiceConfig {
    try Sluice.ServiceConfig(json: """
        {"methodConfig": [{"name": [{"service": "bench.Echo"}],
          "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                          "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}
        """)
}

struct LoadResult {
    var perSecond: Double
    var p50: Duration
    var p99: Duration
}

func runClient(_ impl: Impl, port: Int, concurrency: Int, seconds: Double, kind: String) async throws -> LoadResult {
    try await withLoadClient(impl, port: port) { client in
        // Warm up connections and code paths.
        for _ in 0..<200 { try await client.unary() }
        if kind == "stream" {
            let count = Int(option("--messages", "20000")) ?? 20_000
            var best = 0.0
            for _ in 0..<3 {
                let start = ContinuousClock.now
                try await client.stream(count: count)
                let elapsed = start.duration(to: .now).seconds
                best = max(best, Double(count) / elapsed)
            }
            return LoadResult(perSecond: best, p50: .zero, p99: .zero)
        }
        let end = ContinuousClock.now + .nanoseconds(Int64(seconds * 1e9))
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Duration] = []
                    samples.reserveCapacity(100_000)
                    while ContinuousClock.now < end {
                        let begin = ContinuousClock.now
                        try await client.unary()
                        samples.append(begin.duration(to: .now))
                    }
                    return samples
                }
            }
            var all: [Duration] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        let elapsed = start.duration(to: .now).seconds
        return LoadResult(perSecond: Double(latencies.count) / elapsed,
                          p50: latencies[latencies.count / 2], p99: latencies[latencies.count * 99 / 100])
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var micros: Double { seconds * 1e6 }
}

/// Allocations per unary RPC, client and server together in this process.
func allocations(_ impl: Impl) async throws -> Double {
    let port = Int.random(in: 40_000..<60_000)
    let server = Task { try await runServer(impl, port: port) }
    try await Task.sleep(for: .milliseconds(300))
    let perCall = try await withLoadClient(impl, port: port) { client in
        for _ in 0..<1_000 { try await client.unary() }
        let calls = 5_000
        let before = sluice_allocation_count()
        for _ in 0..<calls { try await client.unary() }
        return Double(sluice_allocation_count() - before) / Double(calls)
    }
    server.cancel()
    return perCall
}

// MARK: - Orchestration

/// Runs `impl` pinned to `core`; with `timeout`, killed (SIGKILL) if it runs longer.
func spawn(_ impl: Impl, _ arguments: [String], core: Int, timeout: Double? = nil) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
    var arguments = arguments
    var command = [CommandLine.arguments[0]]
    if impl.isExternal {
        // The other peers are one implementation each: they take no --impl.
        if let index = arguments.firstIndex(of: "--impl") { arguments.removeSubrange(index...index + 1) }
        command = impl == .grpcio ? ["python3", grpcioPeer] : [grpcGoPeer]
    }
    process.arguments = ["-c", String(core)] + command + arguments
    if let timeout {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", String(Int(timeout)), "taskset"] + (process.arguments ?? [])
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    return (process, pipe)
}

/// One row of the table: a server implementation under a client implementation's load.
struct Run {
    let label: String
    let server: Impl
    let client: Impl
    /// Allocations are counted in-process, for the Swift libraries only.
    var countsAllocations: Bool { server == client && !server.isExternal }
}

/// A run's four figures: unary at c=1 and c=64, streaming, allocations per unary RPC.
typealias Measures = (LoadResult, LoadResult, LoadResult, Double?)

/// Measures one run (server and load client in processes of their own) and prints its row.
func measure(_ run: Run, seconds: Double, countAllocations: Bool = true) async throws -> Measures {
    let request = echoItem().serializedBytes().map { String(format: "%02x", $0) }.joined()
    let (server, pipe) = try spawn(run.server, ["server", "--impl", run.server.rawValue, "--port", "0"], core: 0)
    // SIGKILL: the Python peer's asyncio server outlives SIGTERM.
    defer { kill(server.processIdentifier, SIGKILL) }
    var line = ""
    while !line.contains("listening on port") {
        let data = pipe.fileHandleForReading.availableData
        if data.isEmpty { throw BenchmarkError(description: "the \(run.server) server exited: \(line)") }
        line += String(decoding: data, as: UTF8.self)
    }
    let port = String(line.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    func client(_ concurrency: Int, _ kind: String) throws -> LoadResult {
        var arguments = ["client", "--impl", run.client.rawValue, "--port", port, "--concurrency", String(concurrency),
                         "--seconds", String(seconds), "--kind", kind]
        if run.client.isExternal { arguments += ["--request", request] }
        // A client that hangs is killed and its measure reported as zero, so that one
        // stuck run does not stop the others.
        let (process, out) = try spawn(run.client, arguments, core: 1, timeout: seconds * 3 + 60)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard fields.count == 3, let rate = Double(fields[0]), let p50 = Double(fields[1]), let p99 = Double(fields[2]) else {
            print("\(run.label): the \(kind) client at concurrency \(concurrency) failed or hung: \(String(decoding: data, as: UTF8.self))")
            return LoadResult(perSecond: 0, p50: .zero, p99: .zero)
        }
        return LoadResult(perSecond: rate, p50: .nanoseconds(Int64(p50 * 1000)), p99: .nanoseconds(Int64(p99 * 1000)))
    }
    let one = try client(1, "unary")
    let many = try client(64, "unary")
    let stream = try client(1, "stream")
    kill(server.processIdentifier, SIGKILL)
    let allocs = run.countsAllocations && countAllocations ? try await allocations(run.server) : nil
    print(run.label.padding(toLength: 28, withPad: " ", startingAt: 0)
          + String(format: "%13.0f %8.0f %8.0f %16.0f %8.0f %8.0f %14.0f ",
                   one.perSecond, one.p50.micros, one.p99.micros, many.perSecond, many.p50.micros, many.p99.micros,
                   stream.perSecond)
          + (allocs.map { String(format: "%12.1f", $0) } ?? "           -"))
    return (one, many, stream, allocs)
}

/// What logging, metrics and tracing cost: Sluice with each on (both sides) against Sluice
/// with nothing. The configurations run in turn, `rounds` times over, and each figure is the
/// median of its rounds: run-to-run noise on this machine reaches 10-20%, more than the
/// overheads measured, and interleaving spreads it over every configuration alike.
func observabilityBenchmark(seconds: Double, rounds: Int) async throws {
    print("Observability cost: RPCs on loopback, server on core 0, load generator on core 1, \(seconds)s per run, \(rounds) rounds")
    print("run                          unary c=1 rps   p50 us   p99 us   unary c=64 rps   p50 us   p99 us   stream msg/s   allocs/RPC")
    let runs = [
        Run(label: "nothing on", server: .sluice, client: .sluice),
        Run(label: "a pass-through interceptor", server: .sluicePassThrough, client: .sluicePassThrough),
        Run(label: "metrics (prometheus)", server: .sluiceMetrics, client: .sluiceMetrics),
        Run(label: "tracing (in-memory)", server: .sluiceTraced, client: .sluiceTraced),
        Run(label: "all (quiet log, no-op trace)", server: .sluiceObserved, client: .sluiceObserved),
    ]
    var results: [String: [Measures]] = [:]
    for round in 1...max(1, rounds) {
        print("round \(round)")
        for run in runs { results[run.label, default: []].append(try await measure(run, seconds: seconds, countAllocations: round == 1)) }
    }
    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    func medians(_ label: String) -> (Double, Double, Double, Double) {
        let measures = results[label] ?? []
        return (median(measures.map(\.0.perSecond)), median(measures.map(\.1.perSecond)), median(measures.map(\.2.perSecond)),
                measures.first?.3 ?? 0)
    }
    let base = medians("nothing on")
    let spread = (results["nothing on"] ?? []).map(\.1.perSecond)
    print(String(format: "medians of %d rounds; plain runs at c=64 ranged %.0f-%.0f RPC/s", rounds, spread.min() ?? 0, spread.max() ?? 0))
    print(String(format: "nothing on: unary c=1 %.0f, c=64 %.0f, streaming %.0f, allocations %.1f", base.0, base.1, base.2, base.3))
    for run in runs.dropFirst() {
        let r = medians(run.label)
        print(run.label + String(format: " / nothing on: unary c=1 %.2fx, c=64 %.2fx, streaming %.2fx, allocations %.1f vs %.1f",
                                 r.0 / base.0, r.1 / base.1, r.2 / base.2, r.3, base.3))
    }
}

func orchestrate(seconds: Double) async throws {
    print("RPCs on loopback, server on core 0, load generator on core 1, \(seconds)s per run")
    print("run                          unary c=1 rps   p50 us   p99 us   unary c=64 rps   p50 us   p99 us   stream msg/s   allocs/RPC")
    let runs = [
        Run(label: "sluice", server: .sluice, client: .sluice),
        Run(label: "sluice, retry policy set", server: .sluiceRetry, client: .sluiceRetry),
        Run(label: "grpc-swift", server: .grpcSwift, client: .grpcSwift),
        Run(label: "grpcio", server: .grpcio, client: .grpcio),
        // Python's client is the bottleneck of the run above; this one measures grpcio's
        // server (C-core underneath) under the same load as Sluice's.
        Run(label: "grpcio server, sluice load", server: .grpcio, client: .sluice),
        Run(label: "grpc-go", server: .grpcGo, client: .grpcGo),
        Run(label: "grpc-go server, sluice load", server: .grpcGo, client: .sluice),
    ]
    try buildGRPCGoPeer()
    var results: [String: Measures] = [:]
    for run in runs {
        results[run.label] = try await measure(run, seconds: seconds)
    }
    if let s = results["sluice"], let r = results["sluice, retry policy set"] {
        print(String(format: "Sluice with a retry policy / without: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx, allocations %.1f vs %.1f",
                     r.0.perSecond / s.0.perSecond, r.1.perSecond / s.1.perSecond, r.2.perSecond / s.2.perSecond,
                     r.3 ?? 0, s.3 ?? 0))
    }
    if let s = results["sluice"], let g = results["grpc-swift"] {
        print(String(format: "Sluice / grpc-swift 2: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx, allocations %.2fx",
                     s.0.perSecond / g.0.perSecond, s.1.perSecond / g.1.perSecond, s.2.perSecond / g.2.perSecond,
                     (s.3 ?? 0) / (g.3 ?? 1)))
    }
    if let s = results["sluice"], let p = results["grpcio"], let ps = results["grpcio server, sluice load"] {
        print(String(format: "Sluice / grpcio: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx", s.0.perSecond / p.0.perSecond,
                     s.1.perSecond / p.1.perSecond, s.2.perSecond / p.2.perSecond))
        print(String(format: "Sluice server / grpcio server, both under Sluice's load: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx",
                     s.0.perSecond / ps.0.perSecond, s.1.perSecond / ps.1.perSecond, s.2.perSecond / ps.2.perSecond))
    }
    if let s = results["sluice"], let g = results["grpc-go"], let gs = results["grpc-go server, sluice load"] {
        print(String(format: "Sluice / grpc-go: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx", s.0.perSecond / g.0.perSecond,
                     s.1.perSecond / g.1.perSecond, s.2.perSecond / g.2.perSecond))
        print(String(format: "Sluice server / grpc-go server, both under Sluice's load: unary c=1 %.2fx, unary c=64 %.2fx, streaming %.2fx",
                     s.0.perSecond / gs.0.perSecond, s.1.perSecond / gs.1.perSecond, s.2.perSecond / gs.2.perSecond))
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
}

// MARK: - Main

let mode = arguments.count > 1 && !arguments[1].hasPrefix("--") ? arguments[1] : "all"
let impl = Impl(rawValue: option("--impl", "sluice")) ?? .sluice
switch mode {
case "server":
    try await runServer(impl, port: Int(option("--port", "0")) ?? 0)
case "client":
    let result = try await runClient(impl, port: Int(option("--port", "0")) ?? 0,
                                     concurrency: Int(option("--concurrency", "1")) ?? 1,
                                     seconds: Double(option("--seconds", "5")) ?? 5, kind: option("--kind", "unary"))
    print(String(format: "%.1f %.1f %.1f", result.perSecond, result.p50.micros, result.p99.micros))
case "allocations":
    print(String(format: "%.1f allocations per unary RPC", try await allocations(impl)))
case "hedging":
    try await hedgingBenchmark(seconds: Double(option("--seconds", "5")) ?? 5)
case "metrics-cost":
    metricsCostBenchmark(calls: Int(option("--calls", "200000")) ?? 200_000)
case "observability":
    try await observabilityBenchmark(seconds: Double(option("--seconds", "5")) ?? 5, rounds: Int(option("--rounds", "3")) ?? 3)
default:
    try await orchestrate(seconds: Double(option("--seconds", "5")) ?? 5)
}
