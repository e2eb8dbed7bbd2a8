import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

@Suite("JSON mapping: well-known types")
struct JSONWellKnownTypeTests {
    typealias Timestamp = Google_Protobuf_Timestamp
    typealias Duration = Google_Protobuf_Duration

    @Test("Timestamp: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits", arguments: [
        (0, 0, "1970-01-01T00:00:00Z"), (0, 10_000_000, "1970-01-01T00:00:00.010Z"),
        (-1, 999_999_000, "1969-12-31T23:59:59.999999Z"), (951_782_400, 1, "2000-02-29T00:00:00.000000001Z"),
        (-62_135_596_800, 0, "0001-01-01T00:00:00Z"), (253_402_300_799, 999_999_999, "9999-12-31T23:59:59.999999999Z"),
    ] as [(Int64, Int32, String)])
    func timestampOut(seconds: Int64, nanos: Int32, text: String) throws {
        let timestamp = Timestamp.with { $0.seconds = seconds; $0.nanos = nanos }
        #expect(try timestamp.jsonString() == "\"\(text)\"")
        #expect(try Timestamp(jsonString: "\"\(text)\"") == timestamp)
    }

    @Test("Timestamp: any offset and 1 to 9 digits in; lower-case, missing zone, bad dates and range out")
    func timestampIn() throws {
        #expect(try Timestamp(jsonString: #""1970-01-01T01:30:00.5+01:30""#) == .with { $0.nanos = 500_000_000 })
        #expect(try Timestamp(jsonString: #""1969-12-31T19:00:00-05:00""#) == Timestamp())
        for bad in ["1970-01-01t00:00:00Z", "1970-01-01T00:00:00z", "1970-01-01T00:00:00", "1970-02-30T00:00:00Z",
                    "1970-01-01T00:00:00.1234567890Z", "1970-01-01T24:00:00Z", "10000-01-01T00:00:00Z",
                    "0000-12-31T23:59:59Z", "1970-01-01 00:00:00Z", ""] {
            _ = decodingError(Timestamp.self, "\"\(bad)\"")
        }
        #expect(throws: JSONEncodingError.self) { try Timestamp.with { $0.seconds = 253_402_300_800 }.jsonString() }
        #expect(throws: JSONEncodingError.self) { try Timestamp.with { $0.nanos = -1 }.jsonString() }
    }

    @Test("Duration: seconds with 0, 3, 6 or 9 digits and a sign, range checked", arguments: [
        (0, 0, "0s"), (1, 340_012, "1.000340012s"), (-1, -500_000_000, "-1.500s"), (0, -5_000, "-0.000005s"),
        (315_576_000_000, 0, "315576000000s"), (-315_576_000_000, 0, "-315576000000s"),
    ] as [(Int64, Int32, String)])
    func duration(seconds: Int64, nanos: Int32, text: String) throws {
        let duration = Duration.with { $0.seconds = seconds; $0.nanos = nanos }
        #expect(try duration.jsonString() == "\"\(text)\"")
        #expect(try Duration(jsonString: "\"\(text)\"") == duration)
    }

    @Test("Duration: malformed and out-of-range text is an error")
    func badDurations() throws {
        for bad in ["1", "1.s", "s", "-s", "1.0000000001s", "315576000001s", "1 s", "+1s", "1e3s"] {
            _ = decodingError(Duration.self, "\"\(bad)\"")
        }
        #expect(throws: JSONEncodingError.self) { try Duration.with { $0.seconds = 1; $0.nanos = -1 }.jsonString() }
    }

    @Test("FieldMask: paths in lowerCamelCase joined by commas")
    func fieldMask() throws {
        let mask = Google_Protobuf_FieldMask.with { $0.paths = ["user.display_name", "photo", "a_b.c_d_e"] }
        #expect(try mask.jsonString() == #""user.displayName,photo,aB.cDE""#)
        #expect(try Google_Protobuf_FieldMask(jsonString: #""user.displayName,photo,aB.cDE""#) == mask)
        #expect(try Google_Protobuf_FieldMask(jsonString: #""""#) == Google_Protobuf_FieldMask())
        for unprintable in ["camelCase", "trailing_", "double__underscore", "digit_1"] {
            #expect(throws: JSONEncodingError.self) { try Google_Protobuf_FieldMask.with { $0.paths = [unprintable] }.jsonString() }
        }
        _ = decodingError(Google_Protobuf_FieldMask.self, #""snake_case""#)
    }

    @Test("Struct, Value and ListValue are any JSON object, value and array")
    func structs() throws {
        let text = #"{"a":[1,"two",true,null,{"b":{}}],"c":-0.5}"#
        let parsed = try Google_Protobuf_Struct(jsonString: text)
        #expect(parsed.fields["c"]?.kind == .numberValue(-0.5))
        #expect(try parsed.jsonString() == #"{"a":[1.0,"two",true,null,{"b":{}}],"c":-0.5}"#)
        #expect(try Google_Protobuf_Value(jsonString: "null").kind == .nullValue(.nullValue))
        #expect(try Google_Protobuf_ListValue(jsonString: "[[]]").values.count == 1)
        _ = decodingError(Google_Protobuf_Struct.self, "[]")
        _ = decodingError(Google_Protobuf_ListValue.self, "{}")
        #expect(throws: JSONEncodingError.self) { try Google_Protobuf_Value.with { $0.numberValue = .nan }.jsonString() }
        let error = #expect(throws: JSONEncodingError.self) {
            try Google_Protobuf_Struct.with { $0.fields["x"] = .with { $0.listValue.values = [.with { $0.numberValue = .infinity }] } }.jsonString()
        }
        #expect(error?.path == #"$["x"][0]"#)
    }

    @Test("wrappers are their value's JSON; null leaves the field unset")
    func wrappers() throws {
        var message = WKT()
        message.int64Value = .with { $0.value = 5 }
        message.bytesValue = .with { $0.value = Data([1]) }
        message.boolValue = .with { $0.value = false }
        message.floatValue = .with { $0.value = .nan }
        #expect(try message.jsonString() == #"{"floatValue":"NaN","int64Value":"5","boolValue":false,"bytesValue":"AQ=="}"#)
        let parsed = try WKT(jsonString: #"{"int64Value":5,"boolValue":false,"stringValue":null,"repeatedInt64Value":["1",2]}"#)
        #expect(parsed.int64Value.value == 5)
        #expect(parsed.hasBoolValue && !parsed.hasStringValue)
        #expect(parsed.repeatedInt64Value.map(\.value) == [1, 2])
    }

    @Test("Any: a message's fields beside @type, a well-known type under value, resolved through the registry")
    func any() throws {
        let inner = Sluice_Test_Json_Inner.with { $0.name = "n"; $0.id = 3; $0.color = .red }
        var message = WKT()
        message.any = Google_Protobuf_Any(packing: inner)
        message.repeatedAny = [Google_Protobuf_Any(packing: Duration.with { $0.seconds = 2 }),
                               Google_Protobuf_Any(packing: Google_Protobuf_Any(packing: Google_Protobuf_Empty())),
                               Google_Protobuf_Any()]
        var encoding = JSONEncodingOptions()
        encoding.typeRegistry = JSONTypeRegistry([Sluice_Test_Json_Inner.self])
        let json = try message.jsonString(options: encoding)
        #expect(json == #"{"any":{"@type":"type.googleapis.com/sluice.test.json.Inner","name":"n","id":"3","color":"RED"},"repeatedAny":[{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"},{"@type":"type.googleapis.com/google.protobuf.Any","value":{"@type":"type.googleapis.com/google.protobuf.Empty"}},{}]}"#)

        var decoding = JSONDecodingOptions()
        decoding.typeRegistry = encoding.typeRegistry
        let parsed = try WKT(jsonString: json, options: decoding)
        #expect(try parsed.any.unpack(Sluice_Test_Json_Inner.self) == inner)
        #expect(parsed.repeatedAny.count == 3)

        #expect(throws: JSONEncodingError.self) { try message.jsonString() }
        let unknown = decodingError(WKT.self, json)
        #expect(unknown?.reason == .unknownType(typeURL: "type.googleapis.com/sluice.test.json.Inner"))
        #expect(unknown?.path == "$.any.@type")
        _ = decodingError(Google_Protobuf_Any.self, #"{"name":"x"}"#, options: decoding)
        _ = decodingError(Google_Protobuf_Any.self, #"{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1s","extra":1}"#)
        let fieldError = decodingError(Google_Protobuf_Any.self, #"{"@type":"x/sluice.test.json.Inner","id":"z"}"#, options: decoding)
        #expect(fieldError?.path == "$.id")
    }

    @Test("Empty is an empty object")
    func empty() throws {
        #expect(try Google_Protobuf_Empty().jsonString() == "{}")
        #expect(try Google_Protobuf_Empty(jsonString: " { } ") == Google_Protobuf_Empty())
    }
}

@Suite("JSON mapping: output forms and limits")
struct JSONLimitTests {
    @Test("the pretty form indents by the asked width and parses back the same")
    func pretty() throws {
        var message = P3()
        message.optionalInt32 = 1
        message.repeatedInt32 = [1, 2]
        message.optionalNestedMessage.a = 2
        message.mapStringString = [:]
        let pretty = try message.jsonString(options: .pretty)
        #expect(pretty == """
        {
          "optionalInt32": 1,
          "optionalNestedMessage": {
            "a": 2
          },
          "repeatedInt32": [
            1,
            2
          ]
        }
        """)
        #expect(try P3(jsonString: pretty) == message)
    }

    @Test("documents over the size limit, nested too deep, or not JSON are refused with where")
    func limits() {
        var small = JSONDecodingOptions()
        small.maxBytes = 10
        #expect(decodingError(P3.self, #"{"optionalInt32": 1}"#, options: small)?.reason == .documentTooLarge(bytes: 20, limit: 10))
        var shallow = JSONDecodingOptions()
        shallow.maxDepth = 3
        let deep = #"{"recursiveMessage":{"recursiveMessage":{"recursiveMessage":{}}}}"#
        if case .malformedJSON? = decodingError(P3.self, deep, options: shallow)?.reason {} else { Issue.record("depth not refused") }
        for broken in [#"{"optionalInt32":}"#, "{", #"{"a" 1}"#, "[1,]", #"{"optionalInt32":01}"#, "nul", "{} {}"] {
            if case .malformedJSON? = decodingError(P3.self, broken)?.reason {} else { Issue.record("\(broken) not malformed") }
        }
        #expect(decodingError(P3.self, "[]")?.reason == .typeMismatch(expected: "an object (sluice.test.TestAllTypes)", found: "an array"))
    }

    @Test("mutated documents only ever decode or throw a typed error")
    func mutations() throws {
        var message = P3()
        message.optionalInt64 = 5
        message.repeatedString = ["a", "b"]
        message.mapInt32Int32 = [1: 2]
        message.optionalNestedMessage.corecursive.optionalBytes = Data([9, 9])
        message.oneofField = .oneofDouble(1.5)
        let seed = Array(try message.jsonUTF8Bytes())
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,0123456789.eE+-"nulltruefalse\ "#.utf8)
        var decoded = 0
        for _ in 0..<3_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "x")] }
            }
            do {
                _ = try P3(jsonUTF8Bytes: bytes)
                decoded += 1
            } catch is JSONDecodingError {
            }
        }
        #expect(decoded < 3_000)
    }
}
