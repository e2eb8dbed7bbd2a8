import Foundation
import SluiceProto
import SluiceTestMessages
import Testing

typealias AllTypes = Sluice_Test_TestAllTypes
typealias AllTypes2 = Sluice_Test_Proto2_TestAllTypesProto2

/// Every malformed input named by the spec maps to one typed error, with the offset.
@Suite("Decoding errors")
struct DecodingErrorTests {
    func decodeError(_ bytes: [UInt8], options: DecodingOptions = DecodingOptions()) -> ProtobufDecodingError? {
        do {
            _ = try AllTypes(serializedBytes: bytes, options: options)
            return nil
        } catch let error as ProtobufDecodingError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test("a truncated varint value")
    func truncatedVarint() {
        #expect(decodeError([0x08, 0x96])?.kind == .truncated)
    }

    @Test("a truncated fixed64 value")
    func truncatedFixed() {
        #expect(decodeError([0x41, 1, 2, 3])?.kind == .truncated)
    }

    @Test("a length beyond the end of the input")
    func lengthBeyondBuffer() {
        let error = decodeError([0x72, 0x05, 0x61])
        #expect(error?.kind == .lengthExceedsBuffer(length: 5, remaining: 1))
        #expect(error?.offset == 2)
    }

    @Test("wire types 6 and 7 are invalid", arguments: [UInt8(0x0E), 0x0F])
    func invalidWireType(tag: UInt8) {
        #expect(decodeError([tag, 0x00])?.kind == .invalidWireType(tag & 7))
    }

    @Test("field number 0 is invalid")
    func fieldZero() {
        #expect(decodeError([0x00, 0x01])?.kind == .invalidFieldNumber(0))
    }

    @Test("a varint over ten bytes is malformed")
    func overlongVarint() {
        let bytes: [UInt8] = [0x08] + Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(decodeError(bytes)?.kind == .malformedVarint)
    }

    @Test("the tenth varint byte may only carry one bit")
    func tenthByteOverflow() {
        let bytes: [UInt8] = [0x08] + Array(repeating: 0xFF, count: 9) + [0x02]
        #expect(decodeError(bytes)?.kind == .malformedVarint)
        let maximal: [UInt8] = [0x20] + Array(repeating: 0xFF, count: 9) + [0x01]
        #expect(decodeError(maximal) == nil)
    }

    @Test("invalid UTF-8 in a proto3 string names the field")
    func invalidUTF8() {
        #expect(decodeError([0x72, 0x02, 0xC3, 0x28])?.kind == .invalidUTF8(field: 14))
    }

    @Test("a stray end-group tag")
    func strayEndGroup() {
        #expect(decodeError([0x0C])?.kind == .unmatchedEndGroup(field: 1))
    }

    @Test("an unterminated unknown group")
    func unterminatedGroup() {
        #expect(decodeError([0xFB, 0x07, 0x08, 0x01])?.kind == .unterminatedGroup(field: 127))
    }

    @Test("nesting deeper than the limit is refused; at the limit it is accepted")
    func recursionLimit() throws {
        func nested(_ depth: Int) -> AllTypes {
            var message = AllTypes()
            message.optionalInt32 = 1
            for _ in 0..<depth {
                var outer = AllTypes()
                outer.recursiveMessage = message
                message = outer
            }
            return message
        }
        let ok = nested(100).serializedBytes()
        #expect(try AllTypes(serializedBytes: ok) == nested(100))
        let tooDeep = nested(101).serializedBytes()
        #expect(decodeError(tooDeep)?.kind == .recursionLimitExceeded(limit: 100))
        var options = DecodingOptions()
        options.recursionLimit = 10
        #expect(decodeError(nested(11).serializedBytes(), options: options)?.kind == .recursionLimitExceeded(limit: 10))
    }

    @Test("unknown groups nested past the limit are refused too")
    func deepUnknownGroups() {
        let depth = 150
        let open: [UInt8] = [0xFB, 0x07]  // start group, field 127
        let close: [UInt8] = [0xFC, 0x07]
        let bytes = Array([[UInt8]](repeating: open, count: depth).joined()) + Array([[UInt8]](repeating: close, count: depth).joined())
        #expect(decodeError(bytes)?.kind == .recursionLimitExceeded(limit: 100))
    }

    @Test("inputs over the size limit are refused before decoding")
    func sizeLimit() {
        var options = DecodingOptions()
        options.maximumMessageSize = 4
        #expect(decodeError([0x08, 0x01, 0x10, 0x01, 0x18, 0x01], options: options)?.kind == .messageTooLarge(size: 6, limit: 4))
    }

    @Test("missing proto2 required fields are reported by message and field")
    func missingRequired() throws {
        var required = Sluice_Test_Proto2_TestRequired()
        required.a = 1
        let bytes = required.serializedBytes()
        #expect(throws: ProtobufDecodingError.missingRequiredField(message: "sluice.test.proto2.TestRequired", field: "b")) {
            try Sluice_Test_Proto2_TestRequired(serializedBytes: bytes)
        }
        var partial = DecodingOptions()
        partial.allowPartial = true
        #expect(try Sluice_Test_Proto2_TestRequired(serializedBytes: bytes, options: partial).a == 1)
    }

    @Test("required fields are checked inside held messages, repeated fields and maps")
    func nestedRequired() throws {
        var complete = Sluice_Test_Proto2_TestRequired()
        complete.a = 1
        complete.b = "b"
        var incomplete = complete
        incomplete.clearB()

        var holder = Sluice_Test_Proto2_TestRequiredHolder()
        holder.held = complete
        holder.byName["x"] = complete
        #expect(try Sluice_Test_Proto2_TestRequiredHolder(serializedBytes: holder.serializedBytes()) == holder)

        holder.byName["y"] = incomplete
        #expect(throws: ProtobufDecodingError.self) {
            try Sluice_Test_Proto2_TestRequiredHolder(serializedBytes: holder.serializedBytes())
        }
        var chain = complete
        chain.children = [complete, incomplete]
        #expect(throws: ProtobufDecodingError.missingRequiredField(message: "sluice.test.proto2.TestRequired", field: "b")) {
            try Sluice_Test_Proto2_TestRequired(serializedBytes: chain.serializedBytes())
        }
    }

    @Test("errors describe what and where")
    func description() {
        let error = ProtobufDecodingError(.lengthExceedsBuffer(length: 5, remaining: 1), at: 2)
        #expect(error.description == "protobuf decoding failed at byte 2: length 5 exceeds the 1 bytes left")
    }
}
