// Writes a Swift file holding every template as a string literal, so that
// protoc-gen-swift-grpc needs no resource bundle and runs when copied alone.
// scripts/regenerate writes Sources/SluiceCodeGen/Rendering/EmbeddedTemplates.swift with it.
//
// usage: sluice-embed-templates OUTPUT.swift TEMPLATE.mustache...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: sluice-embed-templates OUTPUT.swift TEMPLATE.mustache...\n".utf8))
    exit(2)
}
guard arguments.count > 1 else {
    FileHandle.standardError.write(Data("sluice-embed-templates: no templates given\n".utf8))
    exit(1)
}
var source = "// DO NOT EDIT. Generated from Templates/ by sluice-embed-templates (scripts/regenerate).\n\n"
source += "enum EmbeddedTemplates {\n    static let all: [String: String] = [\n"
for path in arguments.dropFirst().sorted() {
    let url = URL(fileURLWithPath: path)
    let name = url.deletingPathExtension().lastPathComponent
    let text = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough #s that no sequence in the template can close it.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    // The line break before the closing delimiter is not part of a multi-line literal,
    // so one more keeps the template's own final newline.
    source += "        \"\(name)\": \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
}
source += "    ]\n}\n"
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
