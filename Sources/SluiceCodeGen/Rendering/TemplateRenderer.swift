import Mustache

/// Renders view models with the templates embedded from `Templates/`.
struct TemplateRenderer {
    private let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all.sorted(by: { $0.key < $1.key }) {
            do {
                try library.register(text, named: name)
            } catch {
                throw CodeGenError.template("\(name).mustache: \(error)")
            }
        }
        self.library = library
    }

    /// Renders a whole `.pb.swift` file.
    func render(_ file: FileViewModel) throws -> String {
        guard let text = library.render(file, withTemplate: "file") else {
            throw CodeGenError.template("file.mustache is missing")
        }
        return SwiftLayout.format(text)
    }
}
