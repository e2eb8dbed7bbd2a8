import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

typealias WKT = Sluice_Test_Json_TestWellKnownTypes

@Suite("JSON mapping: null")
struct JSONNullTests {
    @Test("null sets a NullValue oneof member and a Value map entry")
    func nullValues() throws {
        let message = try WKT(jsonString: #"{"oneofNullValue": null, "mapValue": {"a": null}}"#)
        #expect(message.kind == .oneofNullValue(.nullValue))
        #expect(message.mapValue["a"]?.kind == .nullValue(.nullValue))
    }
}
