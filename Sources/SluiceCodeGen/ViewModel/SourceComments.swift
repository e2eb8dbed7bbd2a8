import SluiceDescriptors

/// Leading `.proto` comments by descriptor path, turned into `///` lines.
struct SourceComments {
    private var byPath: [[Int32]: String] = [:]

    init(_ info: Google_Protobuf_SourceCodeInfo) {
        for location in info.location where location.hasLeadingComments {
            byPath[location.path] = location.leadingComments
        }
    }

    /// Doc-comment lines for the element at `path`, or none.
    func docLines(_ path: [Int32]) -> [String] {
        guard let text = byPath[path] else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var s = String(line)
            while s.last == " " || s.last == "\t" { s.removeLast() }
            return s.isEmpty ? "///" : "///" + (s.hasPrefix(" ") ? s : " " + s)
        }
        while lines.last == "///" { lines.removeLast() }
        return lines
    }
}
