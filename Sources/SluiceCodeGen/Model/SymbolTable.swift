import SluiceDescriptors

/// Everything the generator knows about one message type, across all files of the request.
struct MessageSymbol {
    let protoName: String          // "pkg.Outer.Inner", no leading dot
    let swiftName: String          // "Pkg_Outer.Inner"
    let descriptor: Google_Protobuf_DescriptorProto
    let file: FileSymbol
    var isMapEntry: Bool { descriptor.options.mapEntry }
}

/// What the generator knows about one enum type.
struct EnumSymbol {
    let protoName: String
    let swiftName: String
    let descriptor: Google_Protobuf_EnumDescriptorProto
    let file: FileSymbol
    /// proto2 enums are closed: unknown values are kept as unknown fields, not as a case.
    var isClosed: Bool { !file.isProto3 }
}

/// What the generator knows about one `.proto` file.
struct FileSymbol {
    let name: String
    let package: String
    let isProto3: Bool
    let typePrefix: String
    /// The Swift module its types live in, or nil for the module being generated.
    let module: String?
}

/// The neutral model: every type in the request by full name, with the facts that need the
/// whole type graph (recursion, required fields) computed once.
struct SymbolTable {
    private(set) var messages: [String: MessageSymbol] = [:]
    private(set) var enums: [String: EnumSymbol] = [:]
    /// Messages on a reference cycle through singular message fields, by full name.
    private(set) var recursiveEdges: Set<Edge> = []
    /// Messages that have, directly or through singular/repeated/map message fields, a required field.
    private(set) var needsRequiredCheck: Set<String> = []

    struct Edge: Hashable {
        let from: String
        let to: String
    }

    init(files: [Google_Protobuf_FileDescriptorProto], modules: ModuleMap, generating: Set<String>) throws {
        for file in files {
            let isProto3 = file.syntax == "proto3"
            if file.syntax == "editions" {
                throw CodeGenError.unsupported("\(file.name): editions syntax is not supported yet")
            }
            let prefix = SwiftNaming.typePrefix(
                package: file.package,
                swiftPrefix: file.options.hasSwiftPrefix ? file.options.swiftPrefix : nil)
            let symbol = FileSymbol(
                name: file.name, package: file.package, isProto3: isProto3, typePrefix: prefix,
                module: generating.contains(file.name) ? nil : modules.module(for: file.name))
            let scope = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType {
                addMessage(message, protoScope: scope, swiftScope: nil, file: symbol)
            }
            for e in file.enumType {
                addEnum(e, protoScope: scope, swiftScope: nil, file: symbol)
            }
        }
        computeRecursion()
        computeRequired()
    }

    private mutating func addMessage(_ d: Google_Protobuf_DescriptorProto, protoScope: String, swiftScope: String?, file: FileSymbol) {
        let protoName = protoScope + d.name
        let swiftName: String
        if let swiftScope {
            swiftName = swiftScope + "." + SwiftNaming.nestedTypeName(d.name, disambiguator: "Message")
        } else {
            swiftName = file.typePrefix + d.name
        }
        messages[protoName] = MessageSymbol(protoName: protoName, swiftName: swiftName, descriptor: d, file: file)
        for nested in d.nestedType {
            addMessage(nested, protoScope: protoName + ".", swiftScope: swiftName, file: file)
        }
        for e in d.enumType {
            addEnum(e, protoScope: protoName + ".", swiftScope: swiftName, file: file)
        }
    }

    private mutating func addEnum(_ d: Google_Protobuf_EnumDescriptorProto, protoScope: String, swiftScope: String?, file: FileSymbol) {
        let protoName = protoScope + d.name
        let swiftName: String
        if let swiftScope {
            swiftName = swiftScope + "." + SwiftNaming.nestedTypeName(d.name, disambiguator: "Enum")
        } else {
            swiftName = file.typePrefix + d.name
        }
        enums[protoName] = EnumSymbol(protoName: protoName, swiftName: swiftName, descriptor: d, file: file)
    }

    /// Looks up a message by a descriptor `type_name` (".pkg.Msg").
    func message(_ typeName: String) throws -> MessageSymbol {
        guard let symbol = messages[String(typeName.drop(while: { $0 == "." }))] else {
            throw CodeGenError.unresolvedType(typeName)
        }
        return symbol
    }

    /// Looks up an enum by a descriptor `type_name`.
    func enumeration(_ typeName: String) throws -> EnumSymbol {
        guard let symbol = enums[String(typeName.drop(while: { $0 == "." }))] else {
            throw CodeGenError.unresolvedType(typeName)
        }
        return symbol
    }

    /// Whether the singular field from `message` to `target` closes a reference cycle, so
    /// that it has to be stored boxed.
    func isRecursive(from message: String, to target: String) -> Bool {
        recursiveEdges.contains(Edge(from: message, to: strip(target)))
    }

    private func strip(_ typeName: String) -> String {
        String(typeName.drop(while: { $0 == "." }))
    }

    /// Singular message fields (including oneof members) form the inline-storage graph; an
    /// edge inside a strongly connected component must be boxed.
    private mutating func computeRecursion() {
        var graph: [String: [String]] = [:]
        for (name, symbol) in messages {
            graph[name] = symbol.descriptor.field
                .filter { ($0.type == .message || $0.type == .group) && $0.label != .repeated }
                .map { strip($0.typeName) }
        }
        // Tarjan's algorithm, recursive: a schema's message graph is small. The force unwraps
        // read entries `connect` wrote before (for v on entry, for w when it was visited).
        var index = 0
        var indices: [String: Int] = [:]
        var lowlink: [String: Int] = [:]
        var stack: [String] = []
        var onStack: Set<String> = []
        var component: [String: Int] = [:]
        var componentCount = 0

        func connect(_ v: String) {
            indices[v] = index
            lowlink[v] = index
            index += 1
            stack.append(v)
            onStack.insert(v)
            for w in graph[v] ?? [] where graph[w] != nil {
                if indices[w] == nil {
                    connect(w)
                    lowlink[v] = min(lowlink[v]!, lowlink[w]!)
                } else if onStack.contains(w) {
                    lowlink[v] = min(lowlink[v]!, indices[w]!)
                }
            }
            if lowlink[v] == indices[v] {
                while let w = stack.popLast() {
                    onStack.remove(w)
                    component[w] = componentCount
                    if w == v { break }
                }
                componentCount += 1
            }
        }
        for v in graph.keys.sorted() where indices[v] == nil { connect(v) }
        for (v, targets) in graph {
            for w in targets where component[w] != nil && component[w] == component[v] {
                recursiveEdges.insert(Edge(from: v, to: w))
            }
        }
    }

    /// A message needs a required-field check if it has a required field or holds a message
    /// that does. Computed as a fixed point because message graphs can be cyclic.
    private mutating func computeRequired() {
        var needs = Set(messages.filter { $0.value.descriptor.field.contains { $0.label == .required } }.keys)
        var changed = true
        while changed {
            changed = false
            for (name, symbol) in messages where !needs.contains(name) {
                let holds = symbol.descriptor.field.contains {
                    ($0.type == .message || $0.type == .group) && needs.contains(strip($0.typeName))
                }
                if holds {
                    needs.insert(name)
                    changed = true
                }
            }
        }
        needsRequiredCheck = needs
    }
}
