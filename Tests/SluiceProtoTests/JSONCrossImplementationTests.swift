import Foundation
import SluiceProto
import SluiceTestMessages
import SluiceTestSupport
import Testing

/// Sluice's JSON mapping against Python protobuf's `json_format`: 10,000 random messages over
/// the proto3 and proto2 all-types schemas and a schema of every well-known type. Python
/// prints each with the default options and with every option set; Sluice parses both and
/// must get the message Python started from, prints it with the same options and must give
/// the same JSON values (compared as JSON, not as text); Python then parses Sluice's JSON and
/// must get its message back.
@Suite("Cross-implementation: JSON against Python protobuf")
struct JSONCrossImplementationTests {
    static let allOptions: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.alwaysPrintFieldsWithoutPresence = true
        options.preservingProtoFieldNames = true
        options.enumsAsIntegers = true
        options.typeRegistry = registry
        return options
    }()

    static let registry = JSONTypeRegistry([Sluice_Test_Json_Inner.self])

    @Test("10,000 random messages: Python's JSON parses to the same message, Sluice's JSON equals Python's and parses back in Python")
    func pythonRoundTrip() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "sluice-jsoncheck-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = directory.appending(path: "cases.bin")
        let results = directory.appending(path: "results.bin")
        let script = "Tests/CrossImplementation/jsoncheck.py"
        let count = Int(ProcessInfo.processInfo.environment["SLUICE_JSONCHECK_COUNT"] ?? "") ?? 10_000

        let generated = try await run("/usr/bin/env", ["python3", script, "generate", "--seed", "20261202", "--count", "\(count)", "--out", cases.path])
        try #require(generated.status == 0, "jsoncheck.py generate failed: \(generated.output)")

        let records = Self.readRecords([UInt8](try Data(contentsOf: cases)))
        try #require(records.count == count)
        var output: [UInt8] = []
        var failures = 0
        for (index, record) in records.enumerated() {
            // Minutes of work in a debug build: yield now and then, so that this test does
            // not hold a thread of the cooperative pool from the suite's timing tests.
            if index % 16 == 0 { await Task.yield() }
            let printed: [[UInt8]]
            do {
                switch record.kind {
                case 0: printed = try Self.check(Sluice_Test_TestAllTypes.self, record.blobs)
                case 1: printed = try Self.check(Sluice_Test_Proto2_TestAllTypesProto2.self, record.blobs)
                default: printed = try Self.check(Sluice_Test_Json_TestWellKnownTypes.self, record.blobs)
                }
            } catch {
                failures += 1
                if failures <= 5 {
                    Issue.record("case \(index) (kind \(record.kind)): \(error)")
                }
                printed = [Array("{}".utf8), Array("{}".utf8)]
            }
            output.append(record.kind)
            output.append(UInt8(printed.count))
            for blob in printed { Self.appendBlob(blob, to: &output) }
        }
        #expect(failures == 0, "\(failures) of \(count) cases differ")
        try Data(output).write(to: results)

        let verified = try await run("/usr/bin/env", ["python3", script, "verify", "--cases", cases.path, "--results", results.path])
        #expect(verified.status == 0, "json_format rejected Sluice's JSON: \(verified.output)")
        #expect(verified.output.contains("\(count) cases, \(failures) failed"))
    }

    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    /// Checks one case and returns Sluice's two printings of it.
    static func check<M: JSONMessage>(_: M.Type, _ blobs: [[UInt8]]) throws -> [[UInt8]] {
        let original = try M(serializedBytes: blobs[0])
        var decoding = JSONDecodingOptions()
        decoding.typeRegistry = registry
        var defaults = JSONEncodingOptions()
        defaults.typeRegistry = registry
        var printed: [[UInt8]] = []
        for (pythonJSON, options) in [(blobs[1], defaults), (blobs[2], allOptions)] {
            let parsed = try M(jsonUTF8Bytes: pythonJSON, options: decoding)
            // An Any holds bytes as its writer encoded them: Python (upb) orders map entries
            // its own way, so the same content may differ in bytes; the JSON, which decodes
            // what an Any holds and sorts map keys, then decides.
            if parsed.serializedBytes(deterministic: true) != original.serializedBytes(deterministic: true),
               try parsed.jsonUTF8Bytes(options: allOptions) != original.jsonUTF8Bytes(options: allOptions) {
                let difference = jsonDifference(try JSONValue(parsing: try parsed.jsonUTF8Bytes(options: allOptions)),
                                                try JSONValue(parsing: try original.jsonUTF8Bytes(options: allOptions)))
                throw Mismatch(description: "Python's JSON parses to a different message, at \(difference ?? "a difference JSON does not show")")
            }
            let ours = try original.jsonUTF8Bytes(options: options)
            let theirs = try JSONValue(parsing: pythonJSON)
            if let difference = jsonDifference(try JSONValue(parsing: ours), theirs) {
                throw Mismatch(description: "Sluice's JSON differs from Python's at \(difference)")
            }
            printed.append(ours)
        }
        return printed
    }

    static func readRecords(_ data: [UInt8]) -> [(kind: UInt8, blobs: [[UInt8]])] {
        var records: [(UInt8, [[UInt8]])] = []
        var i = 0
        while i + 1 < data.count {
            let kind = data[i]
            let count = Int(data[i + 1])
            i += 2
            var blobs: [[UInt8]] = []
            for _ in 0..<count {
                var length = 0
                var shift = 0
                while true {
                    let b = data[i]
                    i += 1
                    length |= Int(b & 0x7F) << shift
                    shift += 7
                    if b < 0x80 { break }
                }
                blobs.append(Array(data[i..<i + length]))
                i += length
            }
            records.append((kind, blobs))
        }
        return records
    }

    static func appendBlob(_ blob: [UInt8], to output: inout [UInt8]) {
        var n = blob.count
        while n >= 0x80 {
            output.append(UInt8(n & 0x7F) | 0x80)
            n >>= 7
        }
        output.append(UInt8(n))
        output.append(contentsOf: blob)
    }
}

/// Where two JSON documents first hold different values, or nil if they are the same:
/// objects compare as sets of members, numbers by value (`1.0` and `1`, `1e16` and `1e+16`
/// are the same number).
func jsonDifference(_ a: JSONValue, _ b: JSONValue, path: String = "$") -> String? {
    switch (a, b) {
    case (.null, .null): return nil
    case (.bool(let x), .bool(let y)) where x == y: return nil
    case (.string(let x), .string(let y)) where x == y: return nil
    case (.number(let x), .number(let y)) where x == y || (Double(x) != nil && Double(x) == Double(y)): return nil
    case (.array(let x), .array(let y)) where x.count == y.count:
        for (index, (p, q)) in zip(x, y).enumerated() {
            if let difference = jsonDifference(p, q, path: "\(path)[\(index)]") { return difference }
        }
        return nil
    case (.object(let x), .object(let y)):
        let theirs = Dictionary(y.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        let ours = Dictionary(x.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for member in x {
            guard let other = theirs[member.name] else { return "\(path).\(member.name): only Sluice writes it" }
            if let difference = jsonDifference(member.value, other, path: "\(path).\(member.name)") { return difference }
        }
        for member in y where ours[member.name] == nil {
            return "\(path).\(member.name): only Python writes it (\(member.value))"
        }
        return nil
    default:
        return "\(path): Sluice \(a), Python \(b)"
    }
}
