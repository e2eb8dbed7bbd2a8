import SluiceProto
import SluiceTestMessages
import Testing

/// Packed repeated fields: runs are counted, then read straight into an array of that size
/// (fixed-width values copied whole), so these check that every value, every varint length and
/// every broken run still comes out as before.
@Suite("Packed repeated fields")
struct PackedFieldTests {
    /// Tag of `repeated_int32` (31), packed.
    let packedInt32Tag: [UInt8] = [0xFA, 0x01]
    /// Tag of `repeated_int32` (31), one unpacked varint.
    let unpackedInt32Tag: [UInt8] = [0xF8, 0x01]
    /// Tag of `repeated_double` (42), packed.
    let packedDoubleTag: [UInt8] = [0xD2, 0x02]

    func decodeError(_ bytes: [UInt8]) -> ProtobufDecodingError? {
        do {
            _ = try AllTypes(serializedBytes: bytes)
            return nil
        } catch {
            return error as? ProtobufDecodingError
        }
    }

    @Test("varints of every length, zigzag and fixed-width values come back bit for bit")
    func roundTrip() throws {
        var message = AllTypes()
        // One value per varint length, 1 to 10 bytes (negative int32s take ten).
        message.repeatedInt32 = [0, 1, 127, 128, 16_383, 16_384, 2_097_152, 268_435_456, .max, -1, .min, -300]
        message.repeatedSint64 = [0, -1, 1, .min, .max, -64, 64, 1 << 40, -(1 << 50)]
        message.repeatedUint64 = [0, 1 << 7, 1 << 14, 1 << 21, 1 << 28, 1 << 35, 1 << 42, 1 << 49, 1 << 56, 1 << 63, .max]
        message.repeatedSfixed32 = [.min, -1, 0, 1, .max]
        message.repeatedFloat = [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.infinity, 1.5]
        message.repeatedDouble = [-0.0, .leastNonzeroMagnitude, .nan, Double(bitPattern: 0x7FF0_0000_0000_0001), .infinity, -2.25]
        let bytes = message.serializedBytes()
        let decoded = try AllTypes(serializedBytes: bytes)
        #expect(decoded.repeatedInt32 == message.repeatedInt32)
        #expect(decoded.repeatedSint64 == message.repeatedSint64)
        #expect(decoded.repeatedUint64 == message.repeatedUint64)
        #expect(decoded.repeatedSfixed32 == message.repeatedSfixed32)
        #expect(decoded.repeatedFloat.map(\.bitPattern) == message.repeatedFloat.map(\.bitPattern))
        #expect(decoded.repeatedDouble.map(\.bitPattern) == message.repeatedDouble.map(\.bitPattern))
        #expect(decoded.serializedBytes() == bytes)
    }

    @Test("a packed run after unpacked values, and two runs, append in order")
    func runsAppend() throws {
        let bytes = unpackedInt32Tag + [5] + packedInt32Tag + [3, 1, 0x96, 0x01] + packedInt32Tag + [2, 7, 8] + unpackedInt32Tag + [9]
        #expect(try AllTypes(serializedBytes: bytes).repeatedInt32 == [5, 1, 150, 7, 8, 9])
        let doubles = packedDoubleTag + [8] + withUnsafeBytes(of: (1.5).bitPattern.littleEndian, Array.init)
            + packedDoubleTag + [16] + withUnsafeBytes(of: (2.5).bitPattern.littleEndian, Array.init)
            + withUnsafeBytes(of: (-3.0).bitPattern.littleEndian, Array.init)
        #expect(try AllTypes(serializedBytes: doubles).repeatedDouble == [1.5, 2.5, -3.0])
        #expect(try AllTypes(serializedBytes: packedInt32Tag + [0]).repeatedInt32 == [])
    }

    @Test("a packed fixed-width run with a partial last value is truncated where that value starts")
    func partialFixedValue() {
        let error = decodeError(packedDoubleTag + [12] + [UInt8](repeating: 0, count: 12))
        #expect(error?.kind == .truncated)
        #expect(error?.offset == 11)
    }

    @Test("a packed varint run ending inside a varint is truncated")
    func unterminatedVarint() {
        let error = decodeError(packedInt32Tag + [3, 0x01, 0x96, 0x97])
        #expect(error?.kind == .truncated)
        // Nothing of the run is kept past the message's end either.
        #expect(decodeError(packedInt32Tag + [1, 0x80])?.kind == .truncated)
    }

    @Test("a packed varint longer than ten bytes, or with a tenth byte over 1, is malformed")
    func overlongVarint() {
        let eleven = [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(decodeError(packedInt32Tag + [11] + eleven)?.kind == .malformedVarint)
        let badTenth = [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(decodeError(packedInt32Tag + [10] + badTenth)?.kind == .malformedVarint)
        // The same value with a tenth byte of 1 is -1, and is fine.
        let minusOne = [UInt8](repeating: 0xFF, count: 9) + [0x01]
        #expect((try? AllTypes(serializedBytes: packedInt32Tag + [10] + minusOne))?.repeatedInt32 == [-1])
    }

    /// Base-128 bytes of `value`, the plain way: what the writer's register-at-once path
    /// must agree with.
    func referenceVarint(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
        return bytes
    }

    @Test("varints of every length are written as the plain encoding writes them, with room after them and without")
    func varintWriting() throws {
        var values: [UInt64] = [0, 1, .max, 1 << 63]
        for k in 1...9 {
            values += [(1 << (7 * UInt64(k))) - 1, 1 << (7 * UInt64(k)), (1 << (7 * UInt64(k))) + 0x55]
        }
        for value in values {
            var packed = AllTypes()
            packed.repeatedUint64 = [value, value, 7]
            let payload = referenceVarint(value) + referenceVarint(value) + [7]
            #expect(packed.serializedBytes() == [0x92, 0x02, UInt8(payload.count)] + payload)
            // A proto3 scalar at its default is not written at all.
            guard value != 0 else { continue }
            var last = AllTypes()
            last.optionalUint64 = value
            // Field 4 is the only field: the varint ends the buffer, so the writer has no room
            // to spare and takes its checked path.
            #expect(last.serializedBytes() == [0x20] + referenceVarint(value))
            var followed = last
            followed.optionalString = "after the varint"
            // A string field (14) follows, so the varint is written with room behind it.
            #expect(followed.serializedBytes() == [0x20] + referenceVarint(value) + [0x72, 16] + Array("after the varint".utf8))
        }
    }
}
