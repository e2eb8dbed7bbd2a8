// Protobuf encode and decode, binary and proto3 JSON: Sluice against swift-protobuf 1.39, same
// messages, same run.
//
//   swift run -c release sluice-benchmarks [--quick]
//
// Each scenario's message is built once with Sluice; swift-protobuf's copy is decoded from
// Sluice's bytes, so both encode the same content. Runs alternate between the two libraries
// and the best of several rounds is kept, which damps noise from the other core.
import AllocationCounter
import Foundation
import SluiceBenchMessages
import SluiceProto
import SwiftProtobuf
import SwiftProtobufBenchMessages

typealias SJob = SluiceBenchMessages.Bench_Job
typealias PJob = SwiftProtobufBenchMessages.Bench_Job
typealias SBatch = SluiceBenchMessages.Bench_Batch
typealias PBatch = SwiftProtobufBenchMessages.Bench_Batch
typealias SNested = SluiceBenchMessages.Bench_Nested
typealias PNested = SwiftProtobufBenchMessages.Bench_Nested
typealias SBlob = SluiceBenchMessages.Bench_Blob
typealias PBlob = SwiftProtobufBenchMessages.Bench_Blob
typealias SWellKnown = SluiceBenchMessages.Bench_WellKnown
typealias PWellKnown = SwiftProtobufBenchMessages.Bench_WellKnown
typealias SScalars = SluiceBenchMessages.Bench_Scalars
typealias PScalars = SwiftProtobufBenchMessages.Bench_Scalars

let quick = CommandLine.arguments.contains("--quick")
let rounds = quick ? 2 : 5
let roundSeconds = quick ? 0.05 : 0.25

/// Keeps a value alive so the optimizer cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

struct Measurement {
    var nanosPerOp: Double
    var allocationsPerOp: Double
}

/// Runs `body` repeatedly for about `roundSeconds` and returns time and allocations per call.
func measure(_ body: () throws -> Void) rethrows -> Measurement {
    // Calibrate how many calls fill a round.
    var iterations = 1
    while true {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        let elapsed = start.duration(to: .now)
        if elapsed > .milliseconds(10) || iterations >= 1 << 24 {
            let perOp = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
            iterations = max(1, Int(roundSeconds * 1e9 / (perOp / Double(iterations))))
            break
        }
        iterations *= 4
    }
    let allocationsBefore = sluice_allocation_count()
    let start = ContinuousClock.now
    for _ in 0..<iterations { try body() }
    let elapsed = start.duration(to: .now)
    let allocations = sluice_allocation_count() - allocationsBefore
    let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    return Measurement(nanosPerOp: nanos / Double(iterations), allocationsPerOp: Double(allocations) / Double(iterations))
}

struct Scenario {
    let name: String
    let bytes: Int
    let sluice: () throws -> Void
    let swiftProtobuf: () throws -> Void
    /// For binary scenarios: the message's full name and wire bytes, which `--cpp` hands to
    /// the C++ harness.
    var wire: (messageName: String, bytes: [UInt8])? = nil
}

// MARK: - Messages

func makeJob() -> SJob {
    var job = SJob()
    job.id = "job_01JD8Z3K4M5N6P7Q8R9S0T1V2W"
    job.queueName = "emails"
    job.payload = #"{"to":"user@example.com","subject":"Welcome to Spooled","template":"welcome-v2"}"#
    job.priority = 5
    job.status = .processing
    job.createdAt = Google_Protobuf_Timestamp(seconds: 1_795_000_000, nanos: 123_000_000)
    job.leaseExpiresAt = Google_Protobuf_Timestamp(seconds: 1_795_000_300, nanos: 0)
    job.tags = ["tenant": "acme", "region": "eu-west-1", "kind": "transactional", "trace": "4bf92f3577b34da6"]
    job.retry.maxRetries = 3
    job.retry.backoffMs = 1_000
    job.retry.multiplier = 2.0
    for i in 0..<2 {
        var attempt = SJob.Attempt()
        attempt.workerID = "worker-\(i)"
        attempt.startedAt = Google_Protobuf_Timestamp(seconds: 1_795_000_100 + Int64(i), nanos: 0)
        attempt.error = i == 0 ? "smtp timeout" : ""
        job.attempts.append(attempt)
    }
    job.sequence = 9_876_543_210
    return job
}

func makeBatch() -> SBatch {
    var batch = SBatch()
    for i in 0..<1_000 {
        var item = SluiceBenchMessages.Bench_Item()
        item.id = Int64(i) * 7919
        item.name = "item-\(i)"
        item.price = Double(i) * 1.25
        item.flags = [1, Int32(i % 7), 300]
        batch.items.append(item)
    }
    return batch
}

/// 4 x 10,000 packed scalars, the same every run (a fixed-seed generator): int32s of every
/// varint length with a fifth negative, sint64s around zero and far from it, doubles and
/// fixed64s over their whole range.
func makeScalars() -> SScalars {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        // SplitMix64.
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    var message = SScalars()
    for i in 0..<10_000 {
        let r = next()
        let magnitude = Int32(truncatingIfNeeded: r >> UInt64(33 + (r & 31) % 31))
        message.ints.append(i % 5 == 0 ? -magnitude - 1 : magnitude & .max)
        message.sints.append(Int64(bitPattern: next()) >> Int64(next() % 63))
        message.doubles.append(Double(bitPattern: next() & 0x7FEF_FFFF_FFFF_FFFF | (r & 1) << 63))
        message.fixeds.append(next())
    }
    return message
}

func makeNested() -> SNested {
    var message = SNested()
    message.depth = 50
    message.label = "leaf"
    for depth in stride(from: 49, through: 1, by: -1) {
        var outer = SNested()
        outer.depth = Int32(depth)
        outer.label = "level"
        outer.child = message
        message = outer
    }
    return message
}

func makeBlob() -> SBlob {
    var blob = SBlob()
    blob.name = "upload.bin"
    blob.data = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    return blob
}

func makeWellKnown() -> SWellKnown {
    var message = SWellKnown()
    for i in 0..<20 {
        message.times.append(Google_Protobuf_Timestamp(seconds: 1_795_000_000 + Int64(i) * 3_600, nanos: Int32(i) * 1_000_000))
        message.durations.append(Google_Protobuf_Duration(seconds: Int64(i), nanos: Int32(i % 3) * 500_000_000))
    }
    message.attributes = ["service": "spooled", "replicas": 3, "ratio": 0.75, "canary": false, "zones": ["a", "b", "c"],
                          "limits": ["cpu": "500m", "memory": "1Gi"], "owner": nil]
    message.mask = Google_Protobuf_FieldMask(paths: ["times", "attributes.service", "count"])
    message.count = Google_Protobuf_Int64Value(9_007_199_254_740_993)
    message.note = Google_Protobuf_StringValue("well-known types, in their JSON forms")
    message.flag = Google_Protobuf_BoolValue(true)
    message.ratio = Google_Protobuf_DoubleValue(0.125)
    for i in 0..<4 {
        message.anys.append(Google_Protobuf_Any(packing: Google_Protobuf_Timestamp(seconds: 1_795_000_000 + Int64(i), nanos: 0)))
    }
    return message
}

/// The same message as proto3 JSON, each library printing and parsing its own copy; each
/// side's JSON must parse on the other to the same message.
func jsonPair<S: SluiceProto.JSONMessage, P: SwiftProtobuf.Message>(
    _ name: String, _ sluice: S, _ peer: P.Type
) throws -> [Scenario] {
    let other = try P(serializedBytes: sluice.serializedBytes())
    let json = try sluice.jsonUTF8Bytes()
    let otherJSON = try other.jsonUTF8Bytes() as [UInt8]
    // Compared as the binary of what each side read: swift-protobuf's messages compare by
    // their serialization.
    let readByPeer = try P(jsonUTF8Bytes: json)
    let readBySluice = try S(jsonUTF8Bytes: otherJSON)
    let peerReadBack = try S(serializedBytes: readByPeer.serializedBytes() as [UInt8])
    precondition(peerReadBack == sluice, "\(name): swift-protobuf reads Sluice's JSON differently")
    precondition(readBySluice == sluice, "\(name): Sluice reads swift-protobuf's JSON differently")
    return [
        Scenario(
            name: "\(name) JSON encode", bytes: json.count,
            sluice: { blackHole(try sluice.jsonUTF8Bytes()) },
            swiftProtobuf: { blackHole(try other.jsonUTF8Bytes() as [UInt8]) }),
        Scenario(
            name: "\(name) JSON decode", bytes: json.count,
            sluice: { blackHole(try S(jsonUTF8Bytes: json)) },
            swiftProtobuf: { blackHole(try P(jsonUTF8Bytes: json)) }),
    ]
}

func scenarios() throws -> [Scenario] {
    func pair<S: SluiceProto.Message, P: SwiftProtobuf.Message>(
        _ name: String, _ sluice: S, _ peer: P.Type
    ) throws -> [Scenario] {
        let bytes = sluice.serializedBytes()
        let other = try P(serializedBytes: bytes)
        let otherBytes: [UInt8] = try other.serializedBytes()
        precondition(otherBytes.count == bytes.count, "\(name): the two libraries disagree on the size")
        let roundTripped = try S(serializedBytes: otherBytes)
        precondition(roundTripped == sluice, "\(name): swift-protobuf's bytes decode differently")
        return [
            Scenario(
                name: "\(name) encode", bytes: bytes.count,
                sluice: { blackHole(sluice.serializedBytes()) },
                swiftProtobuf: { blackHole(try other.serializedBytes() as [UInt8]) },
                wire: (S.protoMessageName, bytes)),
            Scenario(
                name: "\(name) decode", bytes: bytes.count,
                sluice: { blackHole(try S(serializedBytes: bytes)) },
                swiftProtobuf: { blackHole(try P(serializedBytes: bytes)) }),
        ]
    }
    return try pair("job", makeJob(), PJob.self)
        + pair("1,000 submessages", makeBatch(), PBatch.self)
        + pair("50-deep nesting", makeNested(), PNested.self)
        + pair("1 MiB bytes", makeBlob(), PBlob.self)
        + pair("4 x 10,000 packed scalars", makeScalars(), PScalars.self)
        + jsonPair("job", makeJob(), PJob.self)
        + jsonPair("1,000 submessages", makeBatch(), PBatch.self)
        + jsonPair("well-known types", makeWellKnown(), PWellKnown.self)
}

// MARK: - Report

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

func lpad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func format(_ value: Double, _ digits: Int = 0) -> String {
    String(format: "%.\(digits)f", value)
}

// `--profile "job decode"` runs one scenario's Sluice side for five seconds, for perf.
if let flag = CommandLine.arguments.firstIndex(of: "--profile"), flag + 1 < CommandLine.arguments.count {
    let name = CommandLine.arguments[flag + 1]
    guard let scenario = try scenarios().first(where: { $0.name == name }) else {
        fatalError("no scenario named \(name)")
    }
    let end = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < end {
        for _ in 0..<1_000 { try scenario.sluice() }
    }
    exit(0)
}

// `--cpp PATH` also runs the C++ libprotobuf harness (scripts/build-cpp-harness) on the binary
// scenarios' bytes, after the Swift rounds, and prints Sluice's time over C++'s.
var cppHarness: String?
if let flag = CommandLine.arguments.firstIndex(of: "--cpp"), flag + 1 < CommandLine.arguments.count {
    cppHarness = CommandLine.arguments[flag + 1]
}

/// C++'s nanoseconds per op for each binary scenario, by scenario name.
func runCppHarness(_ path: String, on scenarios: [Scenario]) throws -> [String: Double] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-cpp-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    var manifest = ""
    for (index, scenario) in scenarios.enumerated() {
        guard let wire = scenario.wire else { continue }
        let file = folder.appendingPathComponent("\(index).bin")
        try Data(wire.bytes).write(to: file)
        // One line per message: the harness measures both its encode and its decode.
        manifest += "\(scenario.name.replacingOccurrences(of: " encode", with: ""))\t\(wire.messageName)\t\(file.path)\n"
    }
    let manifestFile = folder.appendingPathComponent("manifest.tsv")
    try manifest.write(to: manifestFile, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = [manifestFile.path, "\(rounds)", "\(roundSeconds)"]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    // A benchmark's synchronous top level, not the cooperative pool: reading to the end and
    // waiting for the harness blocks nothing else.
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { fatalError("the C++ harness failed (status \(process.terminationStatus))") }
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: "\t")
        if fields.count == 2, let nanos = Double(fields[1]) { result[String(fields[0])] = nanos }
    }
    return result
}

print("Sluice vs swift-protobuf 1.39, release build, best of \(rounds) rounds of \(roundSeconds)s")
print(pad("scenario", 34) + lpad("bytes", 9) + lpad("sluice ns", 12) + lpad("s-pb ns", 12)
      + lpad("sluice MB/s", 13) + lpad("allocs", 8) + lpad("s-pb allocs", 12) + lpad("speedup", 9))
var ratios: [String: Double] = [:]
var sluiceNanos: [String: Double] = [:]
let allScenarios = try scenarios()
for scenario in allScenarios {
    var best = (sluice: Measurement(nanosPerOp: .infinity, allocationsPerOp: 0),
                peer: Measurement(nanosPerOp: .infinity, allocationsPerOp: 0))
    for _ in 0..<rounds {
        let s = try measure(scenario.sluice)
        let p = try measure(scenario.swiftProtobuf)
        if s.nanosPerOp < best.sluice.nanosPerOp { best.sluice = s }
        if p.nanosPerOp < best.peer.nanosPerOp { best.peer = p }
    }
    let speedup = best.peer.nanosPerOp / best.sluice.nanosPerOp
    ratios[scenario.name] = speedup
    sluiceNanos[scenario.name] = best.sluice.nanosPerOp
    let megabytesPerSecond = Double(scenario.bytes) / best.sluice.nanosPerOp * 1e9 / 1e6
    print(pad(scenario.name, 34) + lpad("\(scenario.bytes)", 9)
          + lpad(format(best.sluice.nanosPerOp), 12) + lpad(format(best.peer.nanosPerOp), 12)
          + lpad(format(megabytesPerSecond), 13)
          + lpad(format(best.sluice.allocationsPerOp, 1), 8) + lpad(format(best.peer.allocationsPerOp, 1), 12)
          + lpad(format(speedup, 2) + "x", 9))
}
let binary = ratios.filter { !$0.key.contains("JSON") }
let json = ratios.filter { $0.key.contains("JSON") }
let encode = binary.filter { $0.key.hasSuffix("encode") }.map(\.value)
let decode = binary.filter { $0.key.hasSuffix("decode") }.map(\.value)
let jsonEncode = json.filter { $0.key.hasSuffix("encode") }.map(\.value)
let jsonDecode = json.filter { $0.key.hasSuffix("decode") }.map(\.value)
func geometricMean(_ values: [Double]) -> Double {
    exp(values.map { log($0) }.reduce(0, +) / Double(values.count))
}
print("geometric mean speedup, binary: encode \(format(geometricMean(encode), 2))x, decode \(format(geometricMean(decode), 2))x")
print("geometric mean speedup, JSON: encode \(format(geometricMean(jsonEncode), 2))x, decode \(format(geometricMean(jsonDecode), 2))x")

if let cppHarness {
    let cpp = try runCppHarness(cppHarness, on: allScenarios)
    print("")
    print("Sluice vs C++ libprotobuf (decoding into a reused message, encoding into a reused string)")
    print(pad("scenario", 34) + lpad("sluice ns", 12) + lpad("c++ ns", 12) + lpad("sluice/c++", 12))
    var slowdowns: [Double] = []
    for scenario in allScenarios where !scenario.name.contains("JSON") {
        guard let theirs = cpp[scenario.name], let ours = sluiceNanos[scenario.name] else { continue }
        slowdowns.append(ours / theirs)
        print(pad(scenario.name, 34) + lpad(format(ours), 12) + lpad(format(theirs), 12) + lpad(format(ours / theirs, 2) + "x", 12))
    }
    print("geometric mean, Sluice's time over C++'s: \(format(geometricMean(slowdowns), 2))x (1.00x is as fast)")
}
