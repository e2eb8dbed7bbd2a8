import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

@Suite("Well-known types")
struct WellKnownTypeTests {
    @Test("Timestamp converts to and from Date, normalising nanos")
    func timestamp() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.25)
        let ts = Google_Protobuf_Timestamp(date: date)
        #expect(ts.seconds == 1_700_000_000)
        #expect(ts.nanos == 250_000_000)
        #expect(ts.date == date)
        let before = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: -1.5))
        #expect(before.seconds == -2 && before.nanos == 500_000_000)
        #expect(ts.isValid && !Google_Protobuf_Timestamp(seconds: 0, nanos: -1).isValid)
        let later = ts + Google_Protobuf_Duration(seconds: 1, nanos: 900_000_000)
        #expect(later.seconds == 1_700_000_002 && later.nanos == 150_000_000)
        #expect(later - ts == Google_Protobuf_Duration(seconds: 1, nanos: 900_000_000))
        #expect(ts < later)
    }

    @Test("Duration converts to and from Swift.Duration with matching signs")
    func duration() {
        let d = Google_Protobuf_Duration(.milliseconds(1_500))
        #expect(d.seconds == 1 && d.nanos == 500_000_000)
        #expect(d.duration == .milliseconds(1_500))
        let negative = Google_Protobuf_Duration(seconds: -1, nanos: 500_000_000)
        #expect(negative.seconds == 0 && negative.nanos == -500_000_000)
        #expect(negative.duration == .milliseconds(-500))
        #expect(Google_Protobuf_Duration(timeInterval: -2.25) == Google_Protobuf_Duration(seconds: -2, nanos: -250_000_000))
        #expect(Google_Protobuf_Duration(timeInterval: 0.5).timeInterval == 0.5)
    }

    @Test("Any packs and unpacks by type URL, and refuses the wrong type")
    func any() throws {
        var inner = Sluice_Test_TestAllTypes()
        inner.optionalString = "packed"
        let any = Google_Protobuf_Any(packing: inner)
        #expect(any.typeURL == "type.googleapis.com/sluice.test.TestAllTypes")
        #expect(any.isA(Sluice_Test_TestAllTypes.self))
        #expect(try any.unpack(Sluice_Test_TestAllTypes.self) == inner)
        #expect(throws: AnyUnpackError(typeURL: any.typeURL, requested: "google.protobuf.Duration")) {
            try any.unpack(Google_Protobuf_Duration.self)
        }
        let decoded = try Google_Protobuf_Any(serializedBytes: any.serializedBytes())
        #expect(try decoded.unpack(Sluice_Test_TestAllTypes.self).optionalString == "packed")
    }

    @Test("Struct and Value build from Swift literals")
    func structLiterals() throws {
        let value: Google_Protobuf_Struct = ["name": "sluice", "version": 1, "ratio": 0.5, "tags": ["a", true, nil]]
        #expect(value["name"]?.kind == .stringValue("sluice"))
        #expect(value["version"]?.kind == .numberValue(1))
        #expect(value["ratio"]?.kind == .numberValue(0.5))
        guard case .listValue(let list)? = value["tags"]?.kind else {
            Issue.record("tags is not a list")
            return
        }
        #expect(list.values.map(\.kind) == [.stringValue("a"), .boolValue(true), .nullValue(.nullValue)])
        #expect(try Google_Protobuf_Struct(serializedBytes: value.serializedBytes()) == value)
    }

    @Test("FieldMask covers, canonicalises, unions and intersects paths")
    func fieldMask() {
        let mask: Google_Protobuf_FieldMask = ["user.name", "user", "email", "email"]
        #expect(mask.covers("user.address.city"))
        #expect(!mask.covers("username"))
        #expect(mask.canonical.paths == ["email", "user"])
        let other: Google_Protobuf_FieldMask = ["user.name", "phone"]
        #expect(mask.union(other).paths == ["email", "phone", "user"])
        #expect(mask.intersection(other).paths == ["user.name"])
    }

    @Test("Message.with builds a message in one expression")
    func with() {
        let timestamp = Google_Protobuf_Timestamp.with { $0.seconds = 5; $0.nanos = 6 }
        #expect(timestamp == Google_Protobuf_Timestamp(seconds: 5, nanos: 6))
    }

    @Test("wrappers from values and literals")
    func wrappers() throws {
        let int: Google_Protobuf_Int64Value = 42
        #expect(int.value == 42)
        let text: Google_Protobuf_StringValue = "hi"
        #expect(try Google_Protobuf_StringValue(serializedBytes: text.serializedBytes()).value == "hi")
        #expect(Google_Protobuf_BytesValue(Data([1, 2])).value == Data([1, 2]))
        #expect(Google_Protobuf_BoolValue(true).serializedBytes() == [0x08, 0x01])
    }
}
