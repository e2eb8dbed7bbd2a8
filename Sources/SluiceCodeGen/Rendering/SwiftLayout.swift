/// Lays out generated Swift: indentation from brace and bracket depth, `case` labels level with their
/// `switch`, at most one blank line in a row, none just inside braces.
///
/// Templates then describe structure only, and nested types (rendered through recursive
/// partials) come out indented like hand-written code whatever their depth.
enum SwiftLayout {
    static let indentUnit = "    "

    static func format(_ source: String) -> String {
        var output: [String] = []
        var blocks: [Bool] = []  // one entry per open brace: whether it opened a `switch`
        var pendingBlank = false
        for rawLine in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            var trimmed = String(line)
            while trimmed.last == " " || trimmed.last == "\t" { trimmed.removeLast() }
            if trimmed.isEmpty {
                pendingBlank = !output.isEmpty
                continue
            }
            let (opens, closes, leadingCloses) = braceCounts(trimmed)
            for _ in 0..<leadingCloses where !blocks.isEmpty { blocks.removeLast() }
            var depth = blocks.count
            let isCaseLabel = (trimmed.hasPrefix("case ") || trimmed.hasPrefix("default:"))
                && blocks.last == true
            if isCaseLabel { depth -= 1 }
            let closesBlockFirst = leadingCloses > 0 || trimmed.hasPrefix("]")
            if pendingBlank, !closesBlockFirst, let last = output.last, !last.hasSuffix("{") {
                output.append("")
            }
            pendingBlank = false
            output.append(String(repeating: indentUnit, count: max(depth, 0)) + trimmed)
            for _ in 0..<(closes - leadingCloses) where !blocks.isEmpty { blocks.removeLast() }
            let isSwitch = trimmed.hasPrefix("switch ")
            for i in 0..<opens { blocks.append(isSwitch && i == opens - 1) }
        }
        return output.joined(separator: "\n") + "\n"
    }

    /// Braces and brackets outside string literals and comments: how many open, how many close, and how
    /// many of the closes come before any other code on the line.
    private static func braceCounts(_ line: String) -> (opens: Int, closes: Int, leadingCloses: Int) {
        var opens = 0
        var closes = 0
        var leading = 0
        var sawCode = false
        var inString = false
        var escaped = false
        var previous: Character = " "
        for ch in line {
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                previous = ch
                continue
            }
            if ch == "/" && previous == "/" { break }
            switch ch {
            case "\"": inString = true; sawCode = true
            case "{", "[": opens += 1; sawCode = true
            case "}", "]":
                closes += 1
                if !sawCode { leading += 1 }
                // `} else {` pairs a close with an open, so the close is leading and balanced.
            case " ", "\t": break
            default:
                if ch != "/" { sawCode = true }
            }
            previous = ch
        }
        // An open brace matched on the same line ("{ get }") must not count as leading-close.
        if opens > 0 && closes > leading {
            let matched = min(opens, closes - leading)
            return (opens - matched, closes - matched, leading)
        }
        return (opens, closes, leading)
    }
}
