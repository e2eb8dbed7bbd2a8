import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

typealias P3 = Sluice_Test_TestAllTypes
typealias P2 = Sluice_Test_Proto2_TestAllTypesProto2
typealias WKT = Sluice_Test_Json_TestWellKnownTypes

/// The error decoding `json` as `M` throws; fails the test if it decodes.
func decodingError<M: JSONMessage>(_: M.Type, _ json: String, options: JSONDecodingOptions = JSONDecodingOptions(),
                                   sourceLocation: SourceLocation = #_sourceLocation) -> JSONDecodingError? {
    do {
        _ = try M(jsonString: json, options: options)
        Issue.record("\(json) decoded, but should not have", sourceLocation: sourceLocation)
        return nil
    } catch let error as JSONDecodingError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite("JSON mapping: field names")
struct JSONFieldNameTests {
    @Test("writes lowerCamelCase or json_name, reads either name, and proto names on request")
    func names() throws {
        var message = WKT()
        message.renamedField = 7
        message.int32Value = .with { $0.value = 3 }
        #expect(try message.jsonString() == #"{"int32Value":3,"customName":7}"#)
        var options = JSONEncodingOptions()
        options.preservingProtoFieldNames = true
        #expect(try message.jsonString(options: options) == #"{"int32_value":3,"renamed_field":7}"#)
        #expect(try WKT(jsonString: #"{"int32_value":3,"renamed_field":7}"#) == message)
        #expect(try WKT(jsonString: #"{"int32Value":3,"customName":7}"#) == message)
    }

    @Test("the same field twice, by one name or both, is an error")
    func duplicates() {
        #expect(decodingError(P3.self, #"{"optionalInt32":1,"optionalInt32":2}"#)?.reason == .duplicateField(name: "optionalInt32"))
        #expect(decodingError(P3.self, #"{"optionalInt32":1,"optional_int32":2}"#)?.reason == .duplicateField(name: "optional_int32"))
    }

    @Test("an unknown name is an error naming it and where, unless unknown fields are ignored")
    func unknownNames() throws {
        let error = decodingError(P3.self, #"{"optionalNestedMessage":{"a":1,"b":2}}"#)
        #expect(error?.reason == .unknownField(name: "b", message: "sluice.test.TestAllTypes.NestedMessage"))
        #expect(error?.path == "$.optionalNestedMessage.b")
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let message = try P3(jsonString: #"{"optionalNestedMessage":{"a":1,"b":[{"x":null}]},"zzz":1}"#, options: options)
        #expect(message.optionalNestedMessage.a == 1)
    }

    @Test("proto2 groups use the field's name")
    func groups() throws {
        var message = P2()
        message.data.groupInt32 = 5
        #expect(try message.jsonString() == #"{"data":{"groupInt32":5}}"#)
        #expect(try P2(jsonString: #"{"data":{"group_int32":5}}"#) == message)
    }
}

@Suite("JSON mapping: scalars")
struct JSONScalarTests {
    @Test("64-bit integers are written as strings and read from numbers or strings")
    func int64() throws {
        var message = P3()
        message.optionalInt64 = -9_223_372_036_854_775_808
        message.optionalUint64 = 18_446_744_073_709_551_615
        message.optionalInt32 = -5
        #expect(try message.jsonString() == #"{"optionalInt32":-5,"optionalInt64":"-9223372036854775808","optionalUint64":"18446744073709551615"}"#)
        let parsed = try P3(jsonString: #"{"optionalInt32":"-5","optionalInt64":-9223372036854775808,"optionalUint64":"18446744073709551615"}"#)
        #expect(parsed == message)
    }

    @Test("integers in exponent or fraction form are accepted when whole", arguments: ["1e3", "1000.0", "1E+3", "10000e-1", "\"1e3\""])
    func wholeForms(text: String) throws {
        #expect(try P3(jsonString: #"{"optionalInt32":\#(text)}"#).optionalInt32 == 1000)
    }

    @Test("integers that are not whole, out of range or of the wrong kind are errors", arguments: [
        "0.5", "1e-1", "2147483648", "-2147483649", "true", "\" 1\"", "\"0x10\"", "\"\"", "[]",
    ])
    func badIntegers(text: String) {
        let error = decodingError(P3.self, #"{"optionalInt32":\#(text)}"#)
        #expect(error?.path == "$.optionalInt32")
    }

    @Test("unsigned fields refuse negatives; uint64 and int64 take their full ranges")
    func unsignedRanges() throws {
        _ = decodingError(P3.self, #"{"optionalUint32":-1}"#)
        _ = decodingError(P3.self, #"{"optionalUint64":"18446744073709551616"}"#)
        _ = decodingError(P3.self, #"{"optionalInt64":"9223372036854775808"}"#)
        #expect(try P3(jsonString: #"{"optionalUint32":4294967295}"#).optionalUint32 == .max)
        #expect(try P3(jsonString: #"{"optionalUint32":-0,"optionalInt32":-0}"#) == P3())
    }

    @Test("floats: NaN and the infinities as strings, numbers as strings too, range checked")
    func floats() throws {
        var message = P3()
        message.optionalDouble = .infinity
        message.optionalFloat = -.infinity
        message.repeatedDouble = [.nan, 0.1, -0.0, 1e300]
        message.repeatedFloat = [0.1, 3.4028235e38]
        #expect(try message.jsonString() == #"{"optionalFloat":"-Infinity","optionalDouble":"Infinity","repeatedFloat":[0.1,3.4028235e+38],"repeatedDouble":["NaN",0.1,-0.0,1e+300]}"#)
        // Whole numbers up to 2^53 take a fast path, which must give what `description` gives
        // (past 2^53 that switches to an exponent).
        var whole = P3()
        whole.repeatedDouble = [1250, -3, 0, 9_007_199_254_740_992, 9_007_199_254_740_994, 1e16, -1e300, 2.5]
        let wholeText = try whole.jsonString()
        #expect(wholeText == #"{"repeatedDouble":[1250.0,-3.0,0.0,9007199254740992.0,9.007199254740994e+15,1e+16,-1e+300,2.5]}"#)
        #expect(try P3(jsonString: whole.jsonString()) == whole)
        let parsed = try P3(jsonString: #"{"optionalFloat":"-Infinity","optionalDouble":"1.5","repeatedDouble":["NaN",1e-300]}"#)
        #expect(parsed.optionalFloat == -.infinity)
        #expect(parsed.optionalDouble == 1.5)
        #expect(parsed.repeatedDouble[0].isNaN)
        #expect(decodingError(P3.self, #"{"optionalFloat":3.5e38}"#)?.path == "$.optionalFloat")
        _ = decodingError(P3.self, #"{"optionalDouble":1e400}"#)
        _ = decodingError(P3.self, #"{"optionalDouble":"nan"}"#)
        _ = decodingError(P3.self, #"{"optionalDouble":"inf"}"#)
    }

    @Test("bytes are written as padded standard base64 and read in any of its forms")
    func bytes() throws {
        var message = P3()
        message.optionalBytes = Data([0xFB, 0xFF, 0xBF])
        #expect(try message.jsonString() == #"{"optionalBytes":"+/+/"}"#)
        for form in ["+/+/", "-_-_"] {
            #expect(try P3(jsonString: #"{"optionalBytes":"\#(form)"}"#) == message)
        }
        for form in ["AQI=", "AQI"] {
            #expect(try P3(jsonString: #"{"optionalBytes":"\#(form)"}"#).optionalBytes == Data([1, 2]))
        }
        _ = decodingError(P3.self, #"{"optionalBytes":"A"}"#)
        _ = decodingError(P3.self, #"{"optionalBytes":"AQ I="}"#)
        _ = decodingError(P3.self, #"{"optionalBytes":"*"}"#)
    }

    @Test("strings are escaped as RFC 8259 requires and read back exactly")
    func strings() throws {
        var message = P3()
        message.optionalString = "quote \" backslash \\ newline \n tab \t nul \u{0} é 🎉"
        let json = try message.jsonString()
        #expect(json == #"{"optionalString":"quote \" backslash \\ newline \n tab \t nul \u0000 é 🎉"}"#)
        #expect(try P3(jsonString: json) == message)
        #expect(try P3(jsonString: #"{"optionalString":"\ud83c\udf89"}"#).optionalString == "🎉")
        _ = decodingError(P3.self, #"{"optionalString":"\ud83c"}"#)
    }

    @Test("bool fields take only true and false")
    func bools() throws {
        #expect(try P3(jsonString: #"{"optionalBool":true}"#).optionalBool)
        _ = decodingError(P3.self, #"{"optionalBool":"true"}"#)
        _ = decodingError(P3.self, #"{"optionalBool":1}"#)
    }
}

@Suite("JSON mapping: enums, oneofs, maps, null")
struct JSONStructureTests {
    @Test("enums by name, numbers accepted, aliases read, unknown names refused or skipped")
    func enums() throws {
        var message = P3()
        message.optionalNestedEnum = .bar
        message.repeatedNestedEnum = [.baz, .UNRECOGNIZED(77)]
        #expect(try message.jsonString() == #"{"optionalNestedEnum":"BAR","repeatedNestedEnum":["BAZ",77]}"#)
        var integers = JSONEncodingOptions()
        integers.enumsAsIntegers = true
        #expect(try message.jsonString(options: integers) == #"{"optionalNestedEnum":1,"repeatedNestedEnum":[2,77]}"#)
        #expect(try P3(jsonString: #"{"optionalNestedEnum":1,"repeatedNestedEnum":["BAZ",77]}"#) == message)
        #expect(try WKT(jsonString: #"{"color":"VERDE"}"#).color == .green)
        #expect(try WKT.with { $0.color = .green }.jsonString() == #"{"color":"GREEN"}"#)

        let error = decodingError(P3.self, #"{"repeatedNestedEnum":["BAZ","NOPE"]}"#)
        #expect(error?.path == "$.repeatedNestedEnum[1]")
        var ignoring = JSONDecodingOptions()
        ignoring.ignoreUnknownFields = true
        let skipped = try P3(jsonString: #"{"optionalNestedEnum":"NOPE","repeatedNestedEnum":["BAZ","NOPE"],"mapStringNestedEnum":{"a":"NOPE","b":"FOO"}}"#, options: ignoring)
        #expect(skipped.optionalNestedEnum == .foo)
        #expect(skipped.repeatedNestedEnum == [.baz])
        #expect(skipped.mapStringNestedEnum == ["b": .foo])
    }

    @Test("a closed enum refuses numbers it does not define")
    func closedEnums() {
        _ = decodingError(P2.self, #"{"optionalForeignEnum":3}"#)
    }

    @Test("two members of a oneof are an error; a null member does not count")
    func oneofs() throws {
        let error = decodingError(P3.self, #"{"oneofUint32":1,"oneofString":"x"}"#)
        #expect(error?.reason == .oneofConflict(oneof: "oneof_field", message: "sluice.test.TestAllTypes"))
        #expect(error?.path == "$.oneofString")
        let message = try P3(jsonString: #"{"oneofUint32":null,"oneofString":"x"}"#)
        #expect(message.oneofField == .oneofString("x"))
    }

    @Test("map keys of every kind are strings, written in key order")
    func maps() throws {
        var message = P3()
        message.mapInt32Int32 = [10: 1, -2: 2, 3: 3]
        message.mapBoolBool = [true: false, false: true]
        message.mapInt64Int64 = [1: -1]
        message.mapStringNestedMessage = ["b": .with { $0.a = 1 }, "a": .init()]
        let json = try message.jsonString()
        #expect(json == #"{"mapInt32Int32":{"-2":2,"3":3,"10":1},"mapInt64Int64":{"1":"-1"},"mapBoolBool":{"false":true,"true":false},"mapStringNestedMessage":{"a":{},"b":{"a":1}}}"#)
        #expect(try P3(jsonString: json) == message)
        let error = decodingError(P3.self, #"{"mapInt32Int32":{"1":1,"x":2}}"#)
        #expect(error?.path == #"$.mapInt32Int32["x"]"#)
        _ = decodingError(P3.self, #"{"mapBoolBool":{"yes":true}}"#)
        _ = decodingError(P3.self, #"{"mapInt32Int32":{"1":null}}"#)
    }

    @Test("null clears a field, and is a value only for Value and NullValue")
    func nulls() throws {
        let message = try P3(jsonString: #"{"optionalNestedMessage":null,"optionalInt32":null,"repeatedInt32":null,"mapInt32Int32":null,"proto3OptionalInt32":null}"#)
        #expect(message == P3())
        let wkt = try WKT(jsonString: #"{"value":null,"oneofNullValue":null,"mapValue":{"a":null},"int64Value":null,"repeatedValue":[null]}"#)
        #expect(wkt.value.kind == .nullValue(.nullValue))
        #expect(wkt.kind == .oneofNullValue(.nullValue))
        #expect(wkt.mapValue["a"]?.kind == .nullValue(.nullValue))
        #expect(!wkt.hasInt64Value)
        #expect(wkt.repeatedValue.count == 1)
        #expect(decodingError(P3.self, #"{"repeatedInt32":[1,null]}"#)?.path == "$.repeatedInt32[1]")
    }

    @Test("errors deep in a document name the path to them")
    func nestedPaths() {
        let error = decodingError(P3.self, #"{"repeatedNestedMessage":[{},{"corecursive":{"mapStringNestedMessage":{"k":{"a":"x"}}}}]}"#)
        #expect(error?.path == #"$.repeatedNestedMessage[1].corecursive.mapStringNestedMessage["k"].a"#)
        #expect(error.map { "\($0)" }?.contains("not an integer") == true)
    }

    @Test("fields without presence are written at their defaults when asked, those with presence never")
    func alwaysPrint() throws {
        var options = JSONEncodingOptions()
        options.alwaysPrintFieldsWithoutPresence = true
        let json = try JSONValue(parsing: try P3().jsonString(options: options))
        guard case .object(let members) = json else { Issue.record("not an object"); return }
        let names = Set(members.map(\.name))
        #expect(names.contains("optionalInt32") && names.contains("repeatedNestedMessage") && names.contains("mapStringString"))
        #expect(!names.contains("optionalNestedMessage") && !names.contains("proto3OptionalInt32") && !names.contains("oneofUint32"))
        #expect(members.first { $0.name == "optionalInt64" }?.value == .string("0"))
    }

    @Test("proto2: defaults are not written unless set, extensions as [pkg.ext] when registered")
    func proto2Extensions() throws {
        var message = P2()
        message.optionalInt32 = 0
        message.Sluice_Test_Proto2_extensionInt32 = 9
        message.Sluice_Test_Proto2_repeatedExtensionInt32 = [1, 2]
        message.Sluice_Test_Proto2_extensionMessage = P2.NestedMessage.with { $0.a = 3 }
        var registry = JSONExtensionRegistry()
        registry.register(Sluice_Test_Proto2_Extensions_extension_int32)
        registry.registerRepeated(Sluice_Test_Proto2_Extensions_repeated_extension_int32)
        registry.register(Sluice_Test_Proto2_Extensions_extension_message)
        var encoding = JSONEncodingOptions()
        encoding.extensions = registry
        let json = try message.jsonString(options: encoding)
        #expect(json == #"{"optionalInt32":0,"[sluice.test.proto2.extension_int32]":9,"[sluice.test.proto2.repeated_extension_int32]":[1,2],"[sluice.test.proto2.extension_message]":{"a":3}}"#)
        #expect(try message.jsonString() == #"{"optionalInt32":0}"#)
        var decoding = JSONDecodingOptions()
        decoding.extensions = registry
        let parsed = try P2(jsonString: json, options: decoding)
        #expect(parsed.Sluice_Test_Proto2_extensionInt32 == 9)
        #expect(parsed.Sluice_Test_Proto2_repeatedExtensionInt32 == [1, 2])
        #expect(parsed.Sluice_Test_Proto2_extensionMessage.a == 3)
        let unknown = decodingError(P2.self, json)
        #expect(unknown?.reason == .unknownField(name: "[sluice.test.proto2.extension_int32]", message: "sluice.test.proto2.TestAllTypesProto2"))
    }

    @Test("a missing proto2 required field is an error after decoding")
    func requiredFields() {
        let error = decodingError(Sluice_Test_Proto2_TestRequired.self, #"{"a":1}"#)
        if case .invalidMessage? = error?.reason {} else { Issue.record("expected invalidMessage, got \(String(describing: error))") }
    }
}
