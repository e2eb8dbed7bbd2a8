import Foundation
import SluiceProto
import SluiceTestMessages
import SluiceTestSupport
import Testing

/// Sluice against Python protobuf (upb): 10,000 random messages over the all-types schemas,
/// proto3 and proto2, with unknown fields. Python encodes, Sluice decodes and re-encodes;
/// Python then reads Sluice's bytes back and must get the message it started from. Where the
/// encoding is deterministic across implementations (no map with two or more entries: upb
/// orders map entries differently from C++'s key order, which Sluice follows), the bytes
/// must also be identical.
@Suite("Cross-implementation: Python protobuf")
struct CrossImplementationTests {
    @Test("10,000 random messages decode, re-encode byte for byte, and read back in Python")
    func pythonRoundTrip() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "sluice-crosscheck-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = directory.appending(path: "cases.bin")
        let results = directory.appending(path: "results.bin")
        let script = "Tests/CrossImplementation/crosscheck.py"

        let generated = try await run("python3", [script, "generate", "--seed", "20261122", "--count", "10000", "--out", cases.path])
        try #require(generated.status == 0, "crosscheck.py generate failed: \(generated.output)")

        let records = readRecords([UInt8](try Data(contentsOf: cases)))
        #expect(records.count == 10_000)
        var output: [UInt8] = []
        var mismatches = 0
        var withUnknownFields = 0
        var comparedBytes = 0
        for (index, record) in records.enumerated() {
            let reencoded: [UInt8]
            let byteIdentical = record.kind & 0x80 != 0
            if record.kind & 1 == 0 {
                let message = try Sluice_Test_TestAllTypes(serializedBytes: Array(record.bytes))
                if !message.unknownFields.isEmpty { withUnknownFields += 1 }
                reencoded = message.serializedBytes(deterministic: true)
                #expect(message.serializedSize == record.bytes.count)
            } else {
                let message = try Sluice_Test_Proto2_TestAllTypesProto2(serializedBytes: Array(record.bytes))
                if !message.unknownFields.isEmpty { withUnknownFields += 1 }
                reencoded = message.serializedBytes(deterministic: true)
            }
            if byteIdentical { comparedBytes += 1 }
            if byteIdentical && reencoded != Array(record.bytes) {
                mismatches += 1
                if mismatches <= 3 { Issue.record("case \(index): bytes differ from Python's") }
            }
            appendRecord(record.kind, reencoded, to: &output)
        }
        #expect(mismatches == 0)
        #expect(comparedBytes > 2_000, "too few byte-comparable cases: \(comparedBytes)")
        #expect(withUnknownFields > 1_000, "the generator should exercise unknown fields")
        try Data(output).write(to: results)

        let verified = try await run("python3", [script, "verify", "--cases", cases.path, "--results", results.path])
        #expect(verified.status == 0, "Python rejected Sluice's encodings: \(verified.output)")
        #expect(verified.output.contains("10000 passed, 0 failed"))
    }
}
