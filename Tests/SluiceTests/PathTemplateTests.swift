import Sluice
import Testing

@Suite("google.api.http path templates: the grammar, and matching")
struct PathTemplateTests {
    @Test("templates that break the grammar are refused with where and why", arguments: [
        ("v1/messages", 0, "starts with '/'"),
        ("/v1/{name=**}/tail", 0, "'**' must be the last segment"),
        ("/v1/{a={b}}", 7, "variables do not nest"),
        ("/v1/{}", 5, "expected a field name"),
        ("/v1/messages:", 13, "an empty verb"),
        ("/v1//x", 4, "an empty segment"),
        ("/v1/{name", 9, "expected '}'"),
    ])
    func malformed(_ template: String, _ offset: Int, _ reason: String) {
        let error = #expect(throws: PathTemplateError.self) { try PathTemplate(template) }
        #expect(error?.offset == offset)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.template == template)
    }

    @Test("segments, variables with patterns and nested field paths, ** and a verb")
    func matching() throws {
        let template = try PathTemplate("/v1/{parent.name=projects/*/locations/*}/items/{item_id}:move")
        #expect(template.literalCount == 4)
        let values = try #require(template.match("/v1/projects/p1/locations/eu/items/42:move"))
        #expect(values.map(\.fieldPath) == [["parent", "name"], ["item_id"]])
        #expect(values.map(\.value) == ["projects/p1/locations/eu", "42"])
        #expect(template.match("/v1/projects/p1/locations/eu/items/42") == nil)
        #expect(template.match("/v1/projects/p1/zones/eu/items/42:move") == nil)
        #expect(template.match("/v1/projects/p1/locations/eu/items/:move") == nil)

        let rest = try PathTemplate("/files/{path=**}")
        #expect(rest.match("/files")?.first?.value == "")
        #expect(rest.match("/files/a/b/c.txt")?.first?.value == "a/b/c.txt")
        // Percent-decoding: fully in one segment, %2F kept in a multi-segment variable.
        #expect(rest.match("/files/a%2Fb/%C3%A9")?.first?.value == "a%2Fb/é")
        #expect(try PathTemplate("/users/{id}").match("/users/a%2Fb")?.first?.value == "a/b")
        // A malformed escape does not match.
        #expect(try PathTemplate("/users/{id}").match("/users/%zz") == nil)
    }
}
