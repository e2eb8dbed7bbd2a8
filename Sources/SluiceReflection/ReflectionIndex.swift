import SluiceDescriptors
import SluiceProto

/// What reflection can answer, computed once from the served files: every file by name,
/// the file that defines each symbol, and each extension by the type it extends.
///
/// Symbols are named as protobuf's `DescriptorPool` names them: packages, messages, fields,
/// oneofs, enums, services, methods and extensions by their full names, and enum values as
/// siblings of their enum (`pkg.RED`, not `pkg.Color.RED`).
struct ReflectionIndex: Sendable {
    /// A served file and the names of the files it imports.
    struct File: Sendable {
        let descriptor: ProtoFileDescriptor
        let imports: [String]
    }

    private(set) var files: [String: File] = [:]
    private(set) var fileBySymbol: [String: String] = [:]
    /// `extendee -> number -> file`, the extendee without its leading dot.
    private(set) var extensions: [String: [Int32: String]] = [:]
    /// Every message type's full name, so that "all extension numbers" of a known type with
    /// no extensions answers an empty list rather than NOT_FOUND.
    private(set) var messageTypes: Set<String> = []

    /// Indexes `roots` and every file they import. Two different files of one name are an error.
    init(_ roots: [ProtoFileDescriptor]) throws(ReflectionError) {
        for root in roots {
            for descriptor in root.transitiveClosure {
                if let known = files[descriptor.name] {
                    guard known.descriptor.serializedFileDescriptorProto == descriptor.serializedFileDescriptorProto else {
                        throw .conflictingFiles(name: descriptor.name)
                    }
                    continue
                }
                let proto: Google_Protobuf_FileDescriptorProto
                do {
                    proto = try Google_Protobuf_FileDescriptorProto(serializedBytes: descriptor.serializedFileDescriptorProto)
                } catch {
                    throw .malformedDescriptor(file: descriptor.name, reason: "\(error)")
                }
                files[descriptor.name] = File(descriptor: descriptor, imports: proto.dependency)
                index(proto)
            }
        }
    }

    /// The file that defines `symbol`, if any.
    func file(containing symbol: String) -> File? {
        fileBySymbol[symbol].flatMap { files[$0] }
    }

    /// The file that defines extension `number` of `type`, if any.
    func file(extending type: String, number: Int32) -> File? {
        extensions[type]?[number].flatMap { files[$0] }
    }

    /// The extension numbers of `type` in ascending order; nil if `type` is no known message.
    func extensionNumbers(of type: String) -> [Int32]? {
        guard messageTypes.contains(type) else { return nil }
        return (extensions[type] ?? [:]).keys.sorted()
    }

    /// `file` first, then each file it imports (breadth first) that `sent` does not hold yet;
    /// every file returned is added to `sent`. This is grpc-go's rule: a stream sends each
    /// dependency once, and the file asked for always.
    func withDependencies(_ file: File, notIn sent: inout Set<String>) -> [File] {
        var answer: [File] = []
        var queue = [file]
        // Each file is visited once: a file imported along many paths (a diamond of imports)
        // is not walked again for each.
        var visited: Set<String> = [file.descriptor.name]
        var next = 0
        while next < queue.count {
            let current = queue[next]
            next += 1
            if answer.isEmpty || !sent.contains(current.descriptor.name) {
                sent.insert(current.descriptor.name)
                answer.append(current)
            }
            for name in current.imports where visited.insert(name).inserted {
                if let imported = files[name] { queue.append(imported) }
            }
        }
        return answer
    }

    private mutating func index(_ file: Google_Protobuf_FileDescriptorProto) {
        let scope = file.package
        // Each level of a dotted package is a symbol too, as in DescriptorPool: the first
        // file seen for it answers.
        var package = ""
        for part in scope.split(separator: ".") {
            package = package.isEmpty ? String(part) : package + "." + part
            add(package, file.name, replacing: false)
        }
        for message in file.messageType { index(message, in: scope, file: file.name) }
        for enumeration in file.enumType { index(enumeration, in: scope, file: file.name) }
        for field in file.extension { indexExtension(field, in: scope, file: file.name) }
        for service in file.service {
            let name = qualified(service.name, in: scope)
            add(name, file.name)
            for method in service.method { add(name + "." + method.name, file.name) }
        }
    }

    private mutating func index(_ message: Google_Protobuf_DescriptorProto, in scope: String, file: String) {
        let name = qualified(message.name, in: scope)
        add(name, file)
        messageTypes.insert(name)
        for field in message.field { add(name + "." + field.name, file) }
        for oneof in message.oneofDecl { add(name + "." + oneof.name, file) }
        for nested in message.nestedType { index(nested, in: name, file: file) }
        for enumeration in message.enumType { index(enumeration, in: name, file: file) }
        for field in message.extension { indexExtension(field, in: name, file: file) }
    }

    private mutating func index(_ enumeration: Google_Protobuf_EnumDescriptorProto, in scope: String, file: String) {
        add(qualified(enumeration.name, in: scope), file)
        for value in enumeration.value { add(qualified(value.name, in: scope), file) }
    }

    private mutating func indexExtension(_ field: Google_Protobuf_FieldDescriptorProto, in scope: String, file: String) {
        add(qualified(field.name, in: scope), file)
        let extendee = String(field.extendee.drop(while: { $0 == "." }))
        extensions[extendee, default: [:]][field.number] = file
    }

    private mutating func add(_ symbol: String, _ file: String, replacing: Bool = true) {
        if replacing || fileBySymbol[symbol] == nil { fileBySymbol[symbol] = file }
    }

    private func qualified(_ name: String, in scope: String) -> String {
        scope.isEmpty ? name : scope + "." + name
    }
}
