import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

/// Round trips of every field kind, and the merge rules of the spec.
@Suite("Message semantics")
struct MessageSemanticsTests {
    static func populated() -> AllTypes {
        var m = AllTypes()
        m.optionalInt32 = -42
        m.optionalInt64 = Int64.min
        m.optionalUint32 = UInt32.max
        m.optionalUint64 = UInt64.max
        m.optionalSint32 = Int32.min
        m.optionalSint64 = -3
        m.optionalFixed32 = 7
        m.optionalFixed64 = 8
        m.optionalSfixed32 = -9
        m.optionalSfixed64 = -10
        m.optionalFloat = -0.0
        m.optionalDouble = .infinity
        m.optionalBool = true
        m.optionalString = "héllo ✓ 😀"
        m.optionalBytes = Data([0, 1, 255])
        m.optionalNestedMessage.a = 5
        m.optionalForeignMessage.c = 6
        m.optionalNestedEnum = .baz
        m.optionalForeignEnum = .foreignNegative
        m.recursiveMessage.optionalInt32 = 99
        m.proto3OptionalInt32 = 0
        m.proto3OptionalString = ""
        m.repeatedInt32 = [1, -1, Int32.max]
        m.repeatedInt64 = [Int64.max]
        m.repeatedUint32 = [0, 300]
        m.repeatedUint64 = [1 << 63]
        m.repeatedSint32 = [-1, 1]
        m.repeatedSint64 = [-2, 2]
        m.repeatedFixed32 = [1, 2]
        m.repeatedFixed64 = [3]
        m.repeatedSfixed32 = [-1]
        m.repeatedSfixed64 = [-2]
        m.repeatedFloat = [1.5, -2.5]
        m.repeatedDouble = [-1.25]
        m.repeatedBool = [true, false, true]
        m.repeatedString = ["a", "", "c"]
        m.repeatedBytes = [Data(), Data([1])]
        m.repeatedNestedMessage = [.init(), { var n = AllTypes.NestedMessage(); n.a = 1; return n }()]
        m.repeatedNestedEnum = [.foo, .bar, .UNRECOGNIZED(77)]
        m.unpackedInt32 = [1, 2]
        m.unpackedSint64 = [-5]
        m.unpackedDouble = [0.5]
        m.unpackedNestedEnum = [.neg]
        m.mapInt32Int32 = [1: 2, -3: 4]
        m.mapInt64Int64 = [Int64.min: 1]
        m.mapUint32Uint32 = [5: 6]
        m.mapUint64Uint64 = [UInt64.max: 0]
        m.mapSint32Sint32 = [-7: -8]
        m.mapSint64Sint64 = [9: -10]
        m.mapFixed32Fixed32 = [11: 12]
        m.mapFixed64Fixed64 = [13: 14]
        m.mapSfixed32Sfixed32 = [-15: 16]
        m.mapSfixed64Sfixed64 = [17: -18]
        m.mapInt32Float = [1: 0.25]
        m.mapInt32Double = [2: -0.5]
        m.mapBoolBool = [true: false, false: true]
        m.mapStringString = ["k": "v", "": ""]
        m.mapStringBytes = ["b": Data([9])]
        m.mapStringNestedMessage = ["m": m.optionalNestedMessage]
        m.mapStringNestedEnum = ["e": .bar]
        m.oneofString = "chosen"
        m.createdAt = Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 5)
        return m
    }

    @Test("every field kind survives a round trip")
    func roundTrip() throws {
        let message = Self.populated()
        let decoded = try AllTypes(serializedBytes: message.serializedBytes())
        #expect(decoded == message)
        #expect(decoded.serializedSize == message.serializedSize)
        #expect(try AllTypes(serializedBytes: message.serializedData()) == message)
    }

    @Test("deterministic encoding gives equal bytes for equal messages")
    func deterministic() throws {
        let message = Self.populated()
        let bytes = message.serializedBytes(deterministic: true)
        let rebuilt = try AllTypes(serializedBytes: message.serializedBytes())
        #expect(rebuilt.serializedBytes(deterministic: true) == bytes)
    }

    @Test("proto3 defaults are not written; proto3 optional presence is")
    func implicitPresence() {
        #expect(AllTypes().serializedBytes().isEmpty)
        var m = AllTypes()
        m.proto3OptionalInt32 = 0
        #expect(m.hasProto3OptionalInt32)
        #expect(m.serializedBytes() == [0xE0, 0x01, 0x00])
        m.clearProto3OptionalInt32()
        #expect(!m.hasProto3OptionalInt32)
        #expect(m.serializedBytes().isEmpty)
    }

    @Test("negative zero is written, as C++ and upb write it")
    func negativeZero() {
        var m = AllTypes()
        m.optionalDouble = -0.0
        #expect(!m.serializedBytes().isEmpty)
    }

    @Test("the last scalar wins and repeated fields append")
    func mergeScalarsAndRepeated() throws {
        var a = AllTypes()
        a.optionalInt32 = 1
        a.repeatedInt32 = [1]
        var b = AllTypes()
        b.optionalInt32 = 2
        b.repeatedInt32 = [2, 3]
        let merged = try AllTypes(serializedBytes: a.serializedBytes() + b.serializedBytes())
        #expect(merged.optionalInt32 == 2)
        #expect(merged.repeatedInt32 == [1, 2, 3])
    }

    @Test("a repeated occurrence of a singular message field merges into it")
    func mergeMessages() throws {
        var a = AllTypes()
        a.optionalNestedMessage.a = 1
        a.recursiveMessage.optionalString = "kept"
        var b = AllTypes()
        b.recursiveMessage.optionalInt32 = 7
        var merged = try AllTypes(serializedBytes: a.serializedBytes())
        try merged.merge(serializedBytes: b.serializedBytes())
        #expect(merged.optionalNestedMessage.a == 1)
        #expect(merged.recursiveMessage.optionalString == "kept")
        #expect(merged.recursiveMessage.optionalInt32 == 7)
    }

    @Test("a oneof switches case; the same message case merges")
    func oneofRules() throws {
        var a = AllTypes()
        a.oneofString = "first"
        var b = AllTypes()
        b.oneofUint32 = 5
        let switched = try AllTypes(serializedBytes: a.serializedBytes() + b.serializedBytes())
        #expect(switched.oneofField == .oneofUint32(5))
        #expect(switched.oneofString == "")

        var c = AllTypes()
        c.oneofNestedMessage.a = 1
        var d = AllTypes()
        d.oneofNestedMessage.corecursive.optionalInt32 = 2
        let merged = try AllTypes(serializedBytes: c.serializedBytes() + d.serializedBytes())
        #expect(merged.oneofNestedMessage.a == 1)
        #expect(merged.oneofNestedMessage.corecursive.optionalInt32 == 2)
    }

    @Test("map entries with the same key replace; missing key or value take defaults")
    func mapEntries() throws {
        // field 69 (map<string,string>): entry {1:"k",2:"a"} then {1:"k",2:"b"}, then {2:"v"} (no key)
        let bytes: [UInt8] = [0xAA, 0x04, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x61,
                              0xAA, 0x04, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x62,
                              0xAA, 0x04, 0x03, 0x12, 0x01, 0x76]
        let m = try AllTypes(serializedBytes: bytes)
        #expect(m.mapStringString == ["k": "b", "": "v"])
    }

    @Test("packed and unpacked encodings are both accepted for packable fields")
    func packedAndUnpacked() throws {
        // repeated_int32 = 31, packed by default in proto3: send it unpacked.
        let unpacked: [UInt8] = [0xF8, 0x01, 0x01, 0xF8, 0x01, 0x02]
        #expect(try AllTypes(serializedBytes: unpacked).repeatedInt32 == [1, 2])
        // unpacked_int32 = 89 [packed=false]: send it packed.
        let packed: [UInt8] = [0xCA, 0x05, 0x02, 0x03, 0x04]
        #expect(try AllTypes(serializedBytes: packed).unpackedInt32 == [3, 4])
        var m = AllTypes()
        m.repeatedInt32 = [1, 2]
        m.unpackedInt32 = [3, 4]
        #expect(m.serializedBytes() == [0xFA, 0x01, 0x02, 0x01, 0x02, 0xC8, 0x05, 0x03, 0xC8, 0x05, 0x04])
    }

    @Test("unknown fields are kept in order and written back")
    func unknownFields() throws {
        // field 1000 varint, field 1001 fixed32, field 1002 group with a field inside, field 1003 bytes
        let unknown: [UInt8] = [0xC0, 0x3E, 0x05, 0xCD, 0x3E, 1, 2, 3, 4, 0xD3, 0x3E, 0x08, 0x01, 0xD4, 0x3E, 0xDA, 0x3E, 0x01, 0x41]
        var m = try AllTypes(serializedBytes: [0x08, 0x01] + unknown)
        #expect(m.optionalInt32 == 1)
        #expect(Array(m.unknownFields.bytes) == unknown)
        m.optionalInt32 = 2
        #expect(m.serializedBytes() == [0x08, 0x02] + unknown)
    }

    @Test("a known field with the wrong wire type is kept as unknown")
    func wrongWireType() throws {
        let bytes: [UInt8] = [0x0D, 1, 0, 0, 0]  // field 1 (int32) as fixed32
        let m = try AllTypes(serializedBytes: bytes)
        #expect(m.optionalInt32 == 0)
        #expect(m.serializedBytes() == bytes)
    }

    @Test("open enums keep unknown values as UNRECOGNIZED")
    func openEnum() throws {
        let m = try AllTypes(serializedBytes: [0xA8, 0x01, 0x63])
        #expect(m.optionalNestedEnum == .UNRECOGNIZED(99))
        #expect(m.serializedBytes() == [0xA8, 0x01, 0x63])
    }

    @Test("closed enums put unknown values in unknown fields, singular and packed")
    func closedEnum() throws {
        let singular: [UInt8] = [0xA8, 0x01, 0x63]
        let m = try AllTypes2(serializedBytes: singular)
        #expect(!m.hasOptionalNestedEnum)
        #expect(Array(m.unknownFields.bytes) == singular)
        #expect(m.serializedBytes() == singular)

        // packed_nested_enum = 88: [1, 99, 2]
        let packed: [UInt8] = [0xC2, 0x05, 0x03, 0x01, 0x63, 0x02]
        let p = try AllTypes2(serializedBytes: packed)
        #expect(p.packedNestedEnum == [.bar, .baz])
        #expect(Array(p.unknownFields.bytes) == [0xC0, 0x05, 0x63])
    }

    @Test("proto2 defaults, presence and clearing")
    func proto2Defaults() {
        var m = AllTypes2()
        #expect(m.defaultInt32 == -123_456_789)
        #expect(m.defaultInt64 == -9_123_456_789_123_456_789)
        #expect(m.defaultUint64 == 10_123_456_789_123_456_789)
        #expect(m.defaultFloat == 9e9)
        #expect(m.defaultDouble == 7e22)
        #expect(m.defaultBool)
        #expect(m.defaultString == "Rosebud \"quoted\"\n")
        #expect(m.defaultBytes == Data("joshua".utf8) + Data([1, 0xFF]))
        #expect(m.defaultNestedEnum == .baz)
        #expect(m.defaultInf == .infinity)
        #expect(m.defaultNan.isNaN)
        #expect(!m.hasDefaultInt32)
        m.defaultInt32 = 0
        #expect(m.hasDefaultInt32)
        #expect(m.serializedBytes() == [0x88, 0x0F, 0x00])
        m.clearDefaultInt32()
        #expect(m.defaultInt32 == -123_456_789)
        #expect(m.serializedBytes().isEmpty)
    }

    @Test("groups round-trip, singular and repeated")
    func groups() throws {
        var m = AllTypes2()
        m.data.groupInt32 = 5
        m.data.groupUint32 = 6
        var r = AllTypes2.RepeatedData()
        r.groupInt32 = 7
        m.repeatedData = [r, r]
        let bytes = m.serializedBytes()
        #expect(bytes.prefix(3) == [0xCB, 0x0C, 0xD0])  // start group 201, then field 202
        #expect(try AllTypes2(serializedBytes: bytes) == m)
    }

    @Test("extensions have typed accessors and survive decoding without a registry")
    func extensions() throws {
        var m = AllTypes2()
        m.optionalInt32 = 1
        m.Sluice_Test_Proto2_extensionInt32 = 42
        m.Sluice_Test_Proto2_extensionString = "ext"
        m.Sluice_Test_Proto2_repeatedExtensionInt32 = [1, 2, 3]
        var nested = AllTypes2.NestedMessage()
        nested.a = 9
        m.Sluice_Test_Proto2_extensionMessage = nested
        #expect(m.hasSluice_Test_Proto2_extensionInt32)

        let decoded = try AllTypes2(serializedBytes: m.serializedBytes())
        #expect(decoded.Sluice_Test_Proto2_extensionInt32 == 42)
        #expect(decoded.Sluice_Test_Proto2_extensionString == "ext")
        #expect(decoded.Sluice_Test_Proto2_repeatedExtensionInt32 == [1, 2, 3])
        #expect(decoded.Sluice_Test_Proto2_extensionMessage.a == 9)

        var cleared = decoded
        cleared.clearSluice_Test_Proto2_extensionInt32()
        #expect(!cleared.hasSluice_Test_Proto2_extensionInt32)
        #expect(cleared.Sluice_Test_Proto2_extensionInt32 == 0)
        #expect(cleared.Sluice_Test_Proto2_extensionString == "ext")

        // A packed run of a repeated extension is read too.
        let packed = try AllTypes2(serializedBytes: [0xD2, 0x07, 0x02, 0x05, 0x06])
        #expect(packed.Sluice_Test_Proto2_repeatedExtensionInt32 == [5, 6])
    }

    @Test("recursive and mutually recursive messages nest and compare by value")
    func recursion() throws {
        var inner = AllTypes()
        inner.optionalInt32 = 1
        var outer = AllTypes()
        outer.recursiveMessage = inner
        outer.optionalNestedMessage.corecursive = inner
        var copy = outer
        copy.recursiveMessage.optionalInt32 = 2
        #expect(outer.recursiveMessage.optionalInt32 == 1)
        #expect(copy != outer)
        #expect(try AllTypes(serializedBytes: outer.serializedBytes()) == outer)
    }

    @Test("Hashable is memberwise")
    func hashing() {
        let a = Self.populated()
        var b = a
        #expect(Set([a, b]).count == 1)
        b.optionalInt32 += 1
        #expect(Set([a, b]).count == 2)
    }
}
