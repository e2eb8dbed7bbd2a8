import SluiceProto
import Testing

@Suite("JSON parsing")
struct JSONValueTests {
    @Test("documents parse with numbers as written, members in order, and escapes decoded")
    func parses() throws {
        let value = try JSONValue(parsing: #" {"b": [1, -2.5e3, true, null], "a": "x\"\\\/\n\u00e9\ud83d\ude00", "c": {}} "#)
        #expect(value == .object([
            ("b", .array([.number("1"), .number("-2.5e3"), .bool(true), .null])),
            ("a", .string("x\"\\/\né😀")),
            ("c", .object([])),
        ]))
        #expect(try JSONValue(parsing: "12345678901234567890") == .number("12345678901234567890"))
        #expect(try JSONValue(parsing: #""héllo""#) == .string("héllo"))
    }

    @Test("malformed input is an error with its offset", arguments: [
        ("", 0, "expected a value"), ("{", 1, "expected a member name"), (#"{"a" 1}"#, 5, "expected ':'"),
        ("[1,]", 3, "expected a value"), ("01", 1, "leading zeros"), ("1.", 2, "expected a digit after '.'"),
        (#""\x""#, 1, "invalid escape"), (#""\ud800""#, 7, "low surrogate"), ("[1] 2", 4, "after the document"),
        ("tru", 0, "expected true"), ("\"a\u{01}\"", 2, "control character"), ("\"abc", 4, "unterminated string"),
    ])
    func rejects(text: String, offset: Int, reason: String) {
        do {
            _ = try JSONValue(parsing: text)
            Issue.record("accepted \(text)")
        } catch let error as JSONParsingError {
            #expect(error.offset == offset, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("nesting is bounded and invalid UTF-8 is refused, never a trap")
    func limits() {
        #expect(throws: JSONParsingError.self) { try JSONValue(parsing: String(repeating: "[", count: 100_000)) }
        #expect(throws: JSONParsingError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
        #expect(throws: Never.self) { try JSONValue(parsing: String(repeating: "[", count: 50) + String(repeating: "]", count: 50)) }
    }
}
