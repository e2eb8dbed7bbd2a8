@testable import SluiceProto
import Testing

@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    func valid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { UTF8Validation.isValid($0) }
    }

    @Test("boundaries of table 3-7", arguments: [
        ([0x7F], true), ([0xC2, 0x80], true), ([0xC1, 0xBF], false), ([0xE0, 0x9F, 0x80], false),
        ([0xE0, 0xA0, 0x80], true), ([0xED, 0x9F, 0xBF], true), ([0xED, 0xA0, 0x80], false),
        ([0xEF, 0xBF, 0xBF], true), ([0xF0, 0x8F, 0xBF, 0xBF], false), ([0xF0, 0x90, 0x80, 0x80], true),
        ([0xF4, 0x8F, 0xBF, 0xBF], true), ([0xF4, 0x90, 0x80, 0x80], false), ([0xF5, 0x80, 0x80, 0x80], false),
        ([0x80], false), ([0xC2], false), ([0xE2, 0x82], false), ([0xFF], false),
    ] as [([UInt8], Bool)])
    func boundaries(bytes: [UInt8], expected: Bool) {
        #expect(valid(bytes) == expected)
        // The same sequence after a run of ASCII long enough for the word-at-a-time path.
        #expect(valid(Array("0123456789abcdef".utf8) + bytes) == expected)
    }

    @Test("agrees with the standard library on 200,000 random byte strings")
    func agreesWithStandardLibrary() {
        var rng = SplitMix64(state: 0x0707_2026)
        var validCount = 0
        for _ in 0..<200_000 {
            let length = Int(rng.next() % 24)
            let bytes: [UInt8] = (0..<length).map { _ in
                // Mostly ASCII and lead/continuation bytes, so that valid strings occur often.
                switch rng.next() % 4 {
                case 0: return UInt8(truncatingIfNeeded: rng.next() % 0x80)
                case 1: return 0x80 | UInt8(truncatingIfNeeded: rng.next() % 0x40)
                case 2: return 0xC0 | UInt8(truncatingIfNeeded: rng.next() % 0x38)
                default: return UInt8(truncatingIfNeeded: rng.next())
                }
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            if expected { validCount += 1 }
            if valid(bytes) != expected {
                Issue.record("disagreement on \(bytes)")
                return
            }
        }
        #expect(validCount > 10_000)
    }
}
