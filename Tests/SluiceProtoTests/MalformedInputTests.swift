import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

/// A small, seeded generator so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// 100,000 corrupted inputs: every one decodes or throws ProtobufDecodingError, never traps
/// or hangs, and whatever decodes re-encodes to bytes that decode to the same encoding.
@Suite("Malformed input")
struct MalformedInputTests {
    enum Outcome { case decoded, rejected }

    func check<M: Message>(_ type: M.Type, _ bytes: [UInt8]) -> Outcome {
        do {
            let message = try M(serializedBytes: bytes)
            let encoded = message.serializedBytes(deterministic: true)
            guard let again = try? M(serializedBytes: encoded) else {
                Issue.record("re-encoding of a decoded \(M.self) does not decode: \(bytes)")
                return .decoded
            }
            if again.serializedBytes(deterministic: true) != encoded {
                Issue.record("re-encoding of a decoded \(M.self) is not stable: \(bytes)")
            }
            return .decoded
        } catch is ProtobufDecodingError {
            return .rejected
        } catch {
            Issue.record("untyped error \(error)")
            return .rejected
        }
    }

    func seeds() -> [(proto3: Bool, bytes: [UInt8])] {
        var proto2 = AllTypes2()
        proto2.optionalInt32 = -1
        proto2.optionalString = "text"
        proto2.data.groupInt32 = 3
        proto2.repeatedData = [.init(), .init()]
        proto2.packedNestedEnum = [.bar, .neg]
        proto2.mapStringNestedMessage = ["a": .init()]
        proto2.optionalNestedMessage.corecursive.optionalInt32 = 9
        proto2.Sluice_Test_Proto2_extensionString = "ext"
        return [
            (true, MessageSemanticsTests.populated().serializedBytes()),
            (false, proto2.serializedBytes()),
        ]
    }

    @Test("truncations, bit flips, byte splices and random bytes, 100,000 in all")
    func corruptedInputs() {
        var rng = SplitMix64(state: 0x5EED_2026)
        var counts = [0, 0]  // decoded, rejected
        var total = 0
        func record(_ outcome: Outcome) {
            counts[outcome == .decoded ? 0 : 1] += 1
            total += 1
        }
        let seeds = seeds()

        // Every prefix of each seed.
        for seed in seeds {
            for length in 0..<seed.bytes.count {
                let prefix = Array(seed.bytes[..<length])
                record(seed.proto3 ? check(AllTypes.self, prefix) : check(AllTypes2.self, prefix))
            }
        }
        while total < 100_000 {
            let seed = seeds[Int(rng.next() % 2)]
            var bytes = seed.bytes
            switch rng.next() % 4 {
            case 0:  // flip 1 to 4 bits
                for _ in 0...(rng.next() % 4) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    bytes[i] ^= UInt8(1) << (rng.next() % 8)
                }
            case 1:  // overwrite a run with random bytes
                let start = Int(rng.next() % UInt64(bytes.count))
                for i in start..<min(bytes.count, start + 1 + Int(rng.next() % 8)) {
                    bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 2:  // splice: drop or duplicate a range
                let a = Int(rng.next() % UInt64(bytes.count))
                let b = min(bytes.count, a + Int(rng.next() % 16))
                if rng.next() % 2 == 0 {
                    bytes.removeSubrange(a..<b)
                } else {
                    bytes.insert(contentsOf: bytes[a..<b], at: a)
                }
            default:  // wholly random
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            record(seed.proto3 ? check(AllTypes.self, bytes) : check(AllTypes2.self, bytes))
        }
        #expect(total >= 100_000)
        // Both outcomes must occur in bulk, or the corruption is not reaching the decoder.
        #expect(counts[0] > 5_000)
        #expect(counts[1] > 20_000)
    }
}
