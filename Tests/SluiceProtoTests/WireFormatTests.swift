import Foundation
import SluiceProto
import Testing

@Suite("Wire format primitives")
struct WireFormatTests {
    @Test("varint sizes match the number of 7-bit groups", arguments: [
        (UInt64(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt64(UInt32.max), 5), (UInt64.max, 10),
    ])
    func varintSize(value: UInt64, size: Int) {
        #expect(WireSize.varint(value) == size)
    }

    @Test("ZigZag round-trips and maps small magnitudes to small codes")
    func zigzag() {
        #expect(ZigZag.encode32(0) == 0)
        #expect(ZigZag.encode32(-1) == 1)
        #expect(ZigZag.encode32(1) == 2)
        #expect(ZigZag.encode32(Int32.min) == UInt32.max)
        #expect(ZigZag.encode64(Int64.min) == UInt64.max)
        for value: Int64 in [0, 1, -1, 63, -64, Int64(Int32.max), Int64.min, Int64.max] {
            #expect(ZigZag.decode64(ZigZag.encode64(value)) == value)
        }
        for value: Int32 in [0, 1, -1, Int32.min, Int32.max] {
            #expect(ZigZag.decode32(ZigZag.encode32(value)) == value)
        }
    }

    @Test("the encoding guide's example: field 1 = 150 is 08 96 01")
    func encodingGuideExample() throws {
        var message = Google_Protobuf_Int32Value()
        message.value = 150
        #expect(message.serializedBytes() == [0x08, 0x96, 0x01])
        #expect(try Google_Protobuf_Int32Value(serializedBytes: [0x08, 0x96, 0x01]).value == 150)
    }

    @Test("negative int32 takes ten bytes and decodes back")
    func negativeInt32() throws {
        var message = Google_Protobuf_Int32Value()
        message.value = -1
        let bytes = message.serializedBytes()
        #expect(bytes.count == 11)
        #expect(try Google_Protobuf_Int32Value(serializedBytes: bytes).value == -1)
    }
}
