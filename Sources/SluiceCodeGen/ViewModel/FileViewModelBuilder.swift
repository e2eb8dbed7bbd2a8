import SluiceDescriptors
import SluiceProto

/// Builds the view model of one `.proto` file from its descriptor and the symbol table.
struct FileViewModelBuilder {
    let file: Google_Protobuf_FileDescriptorProto
    let symbols: SymbolTable
    let options: CodeGenOptions
    /// The files generated in this run, which share a module and need no import.
    let generating: Set<String>
    private let comments: SourceComments
    private let code = FieldCodeWriter()
    private var visibility: String { options.visibility.keyword }
    private var isProto3: Bool { file.syntax == "proto3" }

    init(file: Google_Protobuf_FileDescriptorProto, symbols: SymbolTable, options: CodeGenOptions, generating: Set<String>) {
        self.file = file
        self.generating = generating
        self.symbols = symbols
        self.options = options
        self.comments = SourceComments(file.sourceCodeInfo)
    }

    func build() throws -> FileViewModel {
        let scope = file.package.isEmpty ? "" : file.package + "."
        var enums: [EnumViewModel] = []
        for (i, e) in file.enumType.enumerated() {
            enums.append(try enumViewModel(e, protoName: scope + e.name, path: [5, Int32(i)]))
        }
        var messages: [MessageViewModel] = []
        var codings: [MessageCodingViewModel] = []
        var jsonCodings: [MessageJSONViewModel] = []
        var extensions: [ExtensionViewModel] = []
        for (i, m) in file.messageType.enumerated() {
            let path: [Int32] = [4, Int32(i)]
            messages.append(try messageViewModel(scope + m.name, path: path))
            try collectCodings(scope + m.name, into: &codings, json: &jsonCodings)
            try collectExtensions(scope + m.name, path: path, into: &extensions)
        }
        for (i, ext) in file.extension.enumerated() {
            extensions.append(try extensionViewModel(ext, scopeSwiftName: nil, scopeProtoName: file.package, path: [7, Int32(i)]))
        }

        var services: [ServiceViewModel] = []
        for (i, service) in file.service.enumerated() {
            services.append(try serviceViewModel(service, path: [6, Int32(i)]))
        }

        var imports: [String] = []
        if usesBytes() { imports.append("Foundation") }
        if !services.isEmpty { imports.append("Sluice") }
        if !ModuleMap.isRuntimeFile(file.name) { imports.append("SluiceProto") }
        var dependencyModules = Set<String>()
        for dependency in file.dependency where !generating.contains(dependency) {
            if let module = options.modules.module(for: dependency), module != "SluiceProto" {
                dependencyModules.insert(module)
            }
        }
        if ModuleMap.isRuntimeFile(file.name) { dependencyModules.remove("SluiceProto") }
        imports += dependencyModules.sorted()

        return FileViewModel(
            protoFile: file.name, imports: imports, hasImports: !imports.isEmpty, enums: enums, messages: messages,
            extensions: extensions, codings: codings, services: services,
            jsonCodings: jsonCodings, hasJSONCodings: !jsonCodings.isEmpty,
            hasExtensions: !extensions.isEmpty, hasCodings: !codings.isEmpty,
            visibility: visibility, descriptorHolder: SwiftNaming.protoFileHolderName(file.name),
            descriptorLines: embeddedDescriptorLines(), descriptorDependencies: descriptorDependencies())
    }

    /// The file's `FileDescriptorProto` without source comments (reflection has no use for
    /// them, and they are most of a commented file's descriptor), as base64 in 76-character
    /// lines.
    private func embeddedDescriptorLines() -> [String] {
        var stripped = file
        stripped.clearSourceCodeInfo()
        let text = Array(Base64.encode(stripped.serializedBytes(deterministic: true)).utf8)
        return stride(from: 0, to: text.count, by: 76).map { start in
            String(decoding: text[start..<min(start + 76, text.count)], as: UTF8.self)
        }
    }

    /// `ProtoFile_x.descriptor` for each import, qualified by the module it lives in when that
    /// is not the module being generated.
    private func descriptorDependencies() -> [String] {
        file.dependency.map { dependency in
            let holder = SwiftNaming.protoFileHolderName(dependency) + ".descriptor"
            guard !generating.contains(dependency), let module = options.modules.module(for: dependency) else {
                return holder
            }
            return module + "." + holder
        }
    }

    private func usesBytes() -> Bool {
        func check(_ m: Google_Protobuf_DescriptorProto) -> Bool {
            m.field.contains { $0.type == .bytes } || m.nestedType.contains(where: check)
                || m.extension.contains { $0.type == .bytes }
        }
        return file.messageType.contains(where: check) || file.extension.contains { $0.type == .bytes }
    }

    // MARK: - Services

    func serviceViewModel(_ service: Google_Protobuf_ServiceDescriptorProto, path: [Int32]) throws -> ServiceViewModel {
        let protoName = (file.package.isEmpty ? "" : file.package + ".") + service.name
        let prefix = SwiftNaming.typePrefix(
            package: file.package, swiftPrefix: file.options.hasSwiftPrefix ? file.options.swiftPrefix : nil)
        let name = prefix + service.name
        var methods: [MethodViewModel] = []
        var bindings: [HTTPBindingViewModel] = []
        for (i, method) in service.method.enumerated() {
            bindings += try httpBindings(of: method, service: protoName)
            let input = try symbols.message(method.inputType).swiftName
            let output = try symbols.message(method.outputType).swiftName
            let kind: String
            switch (method.clientStreaming, method.serverStreaming) {
            case (false, false): kind = "unary"
            case (false, true): kind = "serverStreaming"
            case (true, false): kind = "clientStreaming"
            case (true, true): kind = "bidirectionalStreaming"
            }
            let single = !method.clientStreaming
            methods.append(MethodViewModel(
                docLines: comments.docLines(path + [2, Int32(i)]), visibility: visibility, name: name,
                typeName: SwiftNaming.upperCamel(method.name),
                funcName: SwiftNaming.escaped(SwiftNaming.lowerCamel(method.name)),
                protoName: method.name, serviceProtoName: protoName, kind: kind, input: input, output: output,
                isUnary: kind == "unary", isServerStreaming: kind == "serverStreaming",
                isClientStreaming: kind == "clientStreaming", isBidirectional: kind == "bidirectionalStreaming",
                hasSingleRequest: single,
                responseType: method.serverStreaming ? "Sluice.StreamingResponse<\(output)>" : "Sluice.UnaryResponse<\(output)>",
                writerResult: method.serverStreaming
                    ? "Sluice.BidirectionalStreamingCall<\(input), \(output)>"
                    : "Sluice.ClientStreamingCall<\(input), \(output)>"))
        }
        return ServiceViewModel(
            docLines: comments.docLines(path), visibility: visibility, name: name, protoName: protoName, methods: methods,
            descriptorHolder: SwiftNaming.protoFileHolderName(file.name), generateClient: options.generateClient,
            generateServer: options.generateServer, httpBindings: bindings, hasHTTPBindings: !bindings.isEmpty)
    }

    /// The method's `google.api.http` rule and its `additional_bindings`.
    private func httpBindings(of method: Google_Protobuf_MethodDescriptorProto, service: String) throws -> [HTTPBindingViewModel] {
        guard let rule = method.options.extensionValue(Google_Api_Extensions_http) else { return [] }
        let name = "\(service).\(method.name)"
        let (boolFields, repeatedFields) = try requestFieldPaths(method.inputType)
        func binding(_ rule: Google_Api_HttpRule) throws -> HTTPBindingViewModel {
            let verb: String
            let path: String
            switch rule.pattern {
            case .get(let p)?: (verb, path) = ("GET", p)
            case .put(let p)?: (verb, path) = ("PUT", p)
            case .post(let p)?: (verb, path) = ("POST", p)
            case .delete(let p)?: (verb, path) = ("DELETE", p)
            case .patch(let p)?: (verb, path) = ("PATCH", p)
            case .custom(let custom)?: (verb, path) = (custom.kind, custom.path)
            case nil: throw CodeGenError.invalidOption("\(name): a google.api.http rule without a method and path")
            }
            guard path.hasPrefix("/"), !verb.isEmpty else {
                throw CodeGenError.invalidOption("\(name): google.api.http path '\(path)' must start with '/'")
            }
            func literal(_ fields: [String]) -> String {
                fields.isEmpty ? "[]" : "[" + fields.map { DefaultValue.stringLiteral($0) }.joined(separator: ", ") + "]"
            }
            return HTTPBindingViewModel(
                methodTypeName: SwiftNaming.upperCamel(method.name), httpMethod: DefaultValue.stringLiteral(verb),
                path: DefaultValue.stringLiteral(path), body: DefaultValue.stringLiteral(rule.body),
                responseBody: DefaultValue.stringLiteral(rule.responseBody),
                boolFields: literal(boolFields), repeatedFields: literal(repeatedFields))
        }
        var result = [try binding(rule)]
        for additional in rule.additionalBindings {
            guard additional.additionalBindings.isEmpty else {
                throw CodeGenError.invalidOption("\(name): additional_bindings must not nest additional_bindings")
            }
            result.append(try binding(additional))
        }
        return result
    }

    /// The dotted proto field paths of a request message that are booleans (or BoolValue), and
    /// that are repeated: what the REST transcoder must know to type path and query values.
    /// Message fields are followed to a depth of 8, each type once per path (recursive types).
    private func requestFieldPaths(_ typeName: String) throws -> (bools: [String], repeated: [String]) {
        var bools: [String] = []
        var repeated: [String] = []
        func walk(_ typeName: String, prefix: String, visiting: Set<String>, depth: Int) throws {
            guard depth < 8, !visiting.contains(typeName) else { return }
            let symbol = try symbols.message(typeName)
            for field in symbol.descriptor.field {
                let path = prefix + field.name
                let isMap = field.type == .message && ((try? symbols.message(field.typeName))?.descriptor.options.mapEntry ?? false)
                if field.label == .repeated && !isMap { repeated.append(path) }
                if field.type == .bool || (field.type == .message && field.typeName == ".google.protobuf.BoolValue") {
                    bools.append(path)
                } else if field.type == .message, field.label != .repeated, !field.typeName.hasPrefix(".google.protobuf.") {
                    try walk(field.typeName, prefix: path + ".", visiting: visiting.union([typeName]), depth: depth + 1)
                }
            }
        }
        try walk(typeName, prefix: "", visiting: [], depth: 0)
        return (bools.sorted(), repeated.sorted())
    }

    // MARK: - Enums

    func enumViewModel(_ e: Google_Protobuf_EnumDescriptorProto, protoName: String, path: [Int32]) throws -> EnumViewModel {
        let symbol = try symbols.enumeration(protoName)
        guard !e.value.isEmpty else {
            throw CodeGenError.unsupported("enum \(protoName) has no values")
        }
        var cases: [EnumCaseViewModel] = []
        var aliases: [EnumAliasViewModel] = []
        var caseForNumber: [Int32: String] = [:]
        var emitted = Set<String>()
        let names = SwiftNaming.enumCaseNames(e.value.map { ($0.name, $0.number) }, enumName: e.name)
        for (i, value) in e.value.enumerated() {
            let name = names[i]
            // An alias spelled like a name already emitted for its number adds nothing.
            guard emitted.insert(name).inserted else { continue }
            if let target = caseForNumber[value.number] {
                aliases.append(EnumAliasViewModel(name: name, target: target))
            } else {
                caseForNumber[value.number] = name
                cases.append(EnumCaseViewModel(
                    docLines: comments.docLines(path + [2, Int32(i)]), name: name,
                    number: Int(value.number), protoName: value.name))
            }
        }
        // Every name JSON may use, aliases reading as the first case of their number.
        let jsonNames = e.value.compactMap { value in
            caseForNumber[value.number].map { EnumJSONNameViewModel(protoName: JSONCodeWriter.literal(value.name), caseName: $0) }
        }
        return EnumViewModel(
            docLines: comments.docLines(path), visibility: visibility,
            name: symbol.swiftName.split(separator: ".").last.map(String.init) ?? symbol.swiftName,
            cases: cases, aliases: aliases, isOpen: !symbol.isClosed,
            defaultCase: names[0], jsonNames: jsonNames)
    }

    // MARK: - Messages

    func messageViewModel(_ protoName: String, path: [Int32]) throws -> MessageViewModel {
        let symbol = try symbols.message(protoName)
        let d = symbol.descriptor
        if d.options.messageSetWireFormat {
            // Rejected rather than generated with the ordinary wire format, which would not
            // interoperate with MessageSet's items on the wire.
            throw CodeGenError.unsupported(
                "message \(protoName) in \(file.name) sets message_set_wire_format, the legacy MessageSet wire format, which Sluice does not implement")
        }
        let shapes = try fieldShapes(symbol)
        var fields: [FieldViewModel] = []
        var storage: [StorageViewModel] = []
        for (i, shape) in shapes.enumerated() {
            fields.append(fieldViewModel(shape, docLines: comments.docLines(path + [2, Int32(i)])))
            switch shape.storage {
            case .presence:
                storage.append(StorageViewModel(name: shape.storageName, type: shape.swiftType + "?"))
            case .message(let boxed):
                storage.append(StorageViewModel(
                    name: shape.storageName,
                    type: boxed ? "SluiceProto.Indirect<\(shape.swiftType)>?" : shape.swiftType + "?"))
            default:
                break
            }
        }
        var oneofs: [OneofViewModel] = []
        for (index, oneof) in d.oneofDecl.enumerated() {
            let members = shapes.filter {
                $0.descriptor.hasOneofIndex && Int($0.descriptor.oneofIndex) == index && !$0.descriptor.proto3Optional
            }
            guard !members.isEmpty else { continue }  // synthetic proto3-optional oneofs have none
            oneofs.append(OneofViewModel(
                docLines: comments.docLines(path + [8, Int32(index)]), visibility: visibility,
                name: SwiftNaming.fieldName(oneof.name),
                enumName: "OneOf_" + SwiftNaming.upperCamel(oneof.name),
                cases: members.map { member in
                    guard case .oneofMember(_, let caseName) = member.storage else {
                        return OneofCaseViewModel(name: member.name, type: member.swiftType, isIndirect: false)
                    }
                    return OneofCaseViewModel(
                        name: caseName, type: member.swiftType,
                        isIndirect: member.isMessage && symbols.isRecursive(from: protoName, to: member.descriptor.typeName))
                }))
        }
        var enums: [EnumViewModel] = []
        for (i, e) in d.enumType.enumerated() {
            enums.append(try enumViewModel(e, protoName: protoName + "." + e.name, path: path + [4, Int32(i)]))
        }
        var messages: [MessageViewModel] = []
        for (i, nested) in d.nestedType.enumerated() where !nested.options.mapEntry {
            messages.append(try messageViewModel(protoName + "." + nested.name, path: path + [3, Int32(i)]))
        }
        return MessageViewModel(
            docLines: comments.docLines(path), visibility: visibility,
            name: symbol.swiftName.split(separator: ".").last.map(String.init) ?? symbol.swiftName,
            fields: fields, oneofs: oneofs, storage: storage, enums: enums, messages: messages)
    }

    private func fieldViewModel(_ f: FieldShape, docLines: [String]) -> FieldViewModel {
        let upper = SwiftNaming.memberSuffix(Self.baseName(f.descriptor))
        var getter = ""
        var setter = "newValue"
        var oneofName = ""
        var caseName = ""
        switch f.storage {
        case .presence:
            getter = "self.\(f.storageName) ?? \(f.defaultValue)"
        case .message(let boxed):
            getter = boxed ? "self.\(f.storageName)?.wrapped ?? \(f.defaultValue)" : "self.\(f.storageName) ?? \(f.defaultValue)"
            if boxed { setter = "SluiceProto.Indirect(newValue)" }
        case .oneofMember(let oneof, let name):
            oneofName = oneof
            caseName = name
        default:
            break
        }
        let isPlain: Bool
        switch f.storage {
        case .implicit, .repeated, .map: isPlain = true
        default: isPlain = false
        }
        let isOneof: Bool
        if case .oneofMember = f.storage { isOneof = true } else { isOneof = false }
        return FieldViewModel(
            docLines: docLines, visibility: visibility, name: f.name, type: f.swiftType,
            isPlain: isPlain, hasPresence: !isPlain && !isOneof, isOneofMember: isOneof,
            defaultValue: f.defaultValue, storageName: f.storageName, getter: getter, setter: setter,
            hasName: "has" + upper, clearName: "clear" + upper, oneofName: oneofName, caseName: caseName)
    }

    /// The shapes of a message's fields, in declaration order.
    func fieldShapes(_ symbol: MessageSymbol) throws -> [FieldShape] {
        try symbol.descriptor.field.map { try fieldShape($0, in: symbol) }
    }

    private func fieldShape(_ f: FieldDescriptor, in message: MessageSymbol) throws -> FieldShape {
        let name = SwiftNaming.fieldName(Self.baseName(f))
        let proto3 = message.file.isProto3
        var swiftType: String
        var codec: String
        var wire: String
        var defaultValue: String
        var closedEnum: String?
        let isMessage = f.type == .message || f.type == .group
        if let scalar = ScalarInfo.of(f.type) {
            swiftType = scalar.swift
            codec = scalar.codec
            wire = scalar.wire
            defaultValue = f.hasDefaultValue ? try DefaultValue.literal(f.defaultValue, type: f.type) : scalar.zero
        } else if f.type == .enum {
            let e = try symbols.enumeration(f.typeName)
            swiftType = e.swiftName
            codec = "ProtoEnumCodec<\(e.swiftName)>"
            wire = ".varint"
            if e.isClosed { closedEnum = e.swiftName }
            if f.hasDefaultValue {
                defaultValue = "\(e.swiftName)." + SwiftNaming.enumCaseName(ofValue: f.defaultValue, in: e.descriptor)
            } else {
                defaultValue = "\(e.swiftName)()"
            }
        } else {
            let m = try symbols.message(f.typeName)
            swiftType = m.swiftName
            codec = "ProtoMessageCodec<\(m.swiftName)>"
            wire = f.type == .group ? ".startGroup" : ".lengthDelimited"
            defaultValue = "\(m.swiftName)()"
        }

        let storage: FieldShape.Storage
        if f.label == .repeated {
            if f.type == .message, let entry = symbols.messages[String(f.typeName.dropFirst())], entry.isMapEntry {
                let key = try fieldShape(entry.descriptor.field[0], in: entry)
                let value = try fieldShape(entry.descriptor.field[1], in: entry)
                storage = .map(key: key.codec, value: "SluiceProto." + value.codec)
                swiftType = "[\(key.swiftType): \(value.swiftType)]"
                defaultValue = "[:]"
            } else {
                let packed: Bool
                if !ScalarInfo.isPackable(f.type) {
                    packed = false
                } else if f.options.hasPacked {
                    packed = f.options.packed
                } else {
                    packed = proto3
                }
                storage = .repeated(packed: packed)
                swiftType = "[\(swiftType)]"
                defaultValue = "[]"
            }
        } else if f.hasOneofIndex && !f.proto3Optional {
            let oneof = message.descriptor.oneofDecl[Int(f.oneofIndex)]
            storage = .oneofMember(
                oneof: SwiftNaming.fieldName(oneof.name),
                caseName: SwiftNaming.oneofCaseName(f.name))
        } else if isMessage {
            storage = .message(boxed: symbols.isRecursive(from: message.protoName, to: f.typeName))
        } else if proto3 && !f.proto3Optional {
            storage = .implicit
        } else {
            storage = .presence
        }
        return FieldShape(
            descriptor: f, name: name, number: Int(f.number), swiftType: swiftType, codec: codec,
            storage: storage, isGroup: f.type == .group, isMessage: isMessage, closedEnum: closedEnum,
            defaultValue: defaultValue, wireType: wire)
    }

    /// The name a field's Swift members derive from. protoc lowercases a group's name for its
    /// field; like swift-protobuf, the group's own type name is used instead (`repeatedData`).
    static func baseName(_ f: FieldDescriptor) -> String {
        guard f.type == .group, let last = f.typeName.split(separator: ".").last else { return f.name }
        return String(last)
    }

    // MARK: - Wire format

    private func collectCodings(_ protoName: String, into codings: inout [MessageCodingViewModel],
                                json jsonCodings: inout [MessageJSONViewModel]) throws {
        let symbol = try symbols.message(protoName)
        let shapes = try fieldShapes(symbol).sorted { $0.number < $1.number }
        var decodeCases: [DecodeCaseViewModel] = []
        var sizeLines: [String] = []
        var encodeLines: [String] = []
        var requiredLines: [String] = []
        for shape in shapes {
            decodeCases.append(code.decodeCase(shape))
            sizeLines += code.statements(shape, measure: true)
            encodeLines += code.statements(shape, measure: false)
            let holds = shape.isMessage && symbols.needsRequiredCheck.contains(String(shape.descriptor.typeName.dropFirst()))
                || mapValueNeedsCheck(shape)
            requiredLines += code.requiredCheck(shape, messageName: protoName, holdsRequired: holds)
        }
        codings.append(MessageCodingViewModel(
            visibility: visibility, swiftName: symbol.swiftName, protoName: protoName,
            decodeCases: decodeCases, sizeLines: sizeLines, hasFields: !sizeLines.isEmpty, encodeLines: encodeLines,
            requiredCheckLines: requiredLines, hasRequiredCheck: symbols.needsRequiredCheck.contains(protoName)))
        if !JSONCodeWriter.handWrittenJSON.contains(protoName) {
            jsonCodings.append(jsonViewModel(symbol, shapes: shapes))
        }
        for nested in symbol.descriptor.nestedType where !nested.options.mapEntry {
            try collectCodings(protoName + "." + nested.name, into: &codings, json: &jsonCodings)
        }
    }

    /// The JSON conformance of a message, its fields in number order as the wire format's.
    private func jsonViewModel(_ symbol: MessageSymbol, shapes: [FieldShape]) -> MessageJSONViewModel {
        let json = JSONCodeWriter()
        let oneofs = symbol.descriptor.oneofDecl
        return MessageJSONViewModel(
            visibility: visibility, swiftName: symbol.swiftName, protoName: symbol.protoName,
            tableEntries: shapes.map { shape in
                let real = shape.descriptor.hasOneofIndex && !shape.descriptor.proto3Optional
                let index = real ? Int(shape.descriptor.oneofIndex) : nil
                return json.tableEntry(shape, oneofIndex: index, oneofName: index.map { oneofs[$0].name } ?? "")
            },
            isExtensible: !symbol.descriptor.extensionRange.isEmpty,
            encodeLines: shapes.flatMap(json.encodeLines),
            decodeCases: shapes.map(json.decodeCase))
    }

    private func mapValueNeedsCheck(_ shape: FieldShape) -> Bool {
        guard case .map = shape.storage,
              let entry = symbols.messages[String(shape.descriptor.typeName.dropFirst())],
              entry.descriptor.field.count == 2, entry.descriptor.field[1].type == .message
        else { return false }
        return symbols.needsRequiredCheck.contains(String(entry.descriptor.field[1].typeName.dropFirst()))
    }

    // MARK: - Extensions

    private func collectExtensions(_ protoName: String, path: [Int32], into result: inout [ExtensionViewModel]) throws {
        let symbol = try symbols.message(protoName)
        for (i, ext) in symbol.descriptor.extension.enumerated() {
            result.append(try extensionViewModel(ext, scopeSwiftName: symbol.swiftName, scopeProtoName: protoName,
                                                 path: path + [6, Int32(i)]))
        }
        for (i, nested) in symbol.descriptor.nestedType.enumerated() where !nested.options.mapEntry {
            try collectExtensions(protoName + "." + nested.name, path: path + [3, Int32(i)], into: &result)
        }
    }

    /// - Parameter scopeProtoName: What the extension is declared in: the message for a nested
    ///   extension, else the package; its full name is that scope's, dot, its own.
    private func extensionViewModel(_ f: FieldDescriptor, scopeSwiftName: String?, scopeProtoName: String,
                                    path: [Int32]) throws -> ExtensionViewModel {
        let extended = try symbols.message(f.extendee)
        if f.type == .group {
            throw CodeGenError.unsupported("group extension \(f.name) in \(file.name)")
        }
        let valueType: String
        let codec: String
        var defaultValue: String
        if let scalar = ScalarInfo.of(f.type) {
            valueType = scalar.swift
            codec = "SluiceProto." + scalar.codec
            defaultValue = f.hasDefaultValue ? try DefaultValue.literal(f.defaultValue, type: f.type) : scalar.zero
        } else if f.type == .enum {
            let e = try symbols.enumeration(f.typeName)
            valueType = e.swiftName
            codec = "SluiceProto.ProtoEnumCodec<\(e.swiftName)>"
            defaultValue = f.hasDefaultValue
                ? "\(e.swiftName)." + SwiftNaming.enumCaseName(ofValue: f.defaultValue, in: e.descriptor)
                : "\(e.swiftName)()"
        } else {
            let m = try symbols.message(f.typeName)
            valueType = m.swiftName
            codec = "SluiceProto.ProtoMessageCodec<\(m.swiftName)>"
            defaultValue = "\(m.swiftName)()"
        }
        let isRepeated = f.label == .repeated
        if isRepeated { defaultValue = "[]" }
        // swift-protobuf's names: `Pkg_Extensions_foo` for the constant and `pkg_foo` on the message.
        let scopePrefix = (scopeSwiftName.map { $0.replacingOccurrences(of: ".", with: "_") + "_" })
            ?? SwiftNaming.typePrefix(package: file.package, swiftPrefix: file.options.hasSwiftPrefix ? file.options.swiftPrefix : nil)
        let fieldName = SwiftNaming.lowerCamel(f.name)
        let accessor = scopePrefix + fieldName
        let upper = accessor.prefix(1).uppercased() + accessor.dropFirst()
        return ExtensionViewModel(
            docLines: comments.docLines(path), visibility: visibility, extendedType: extended.swiftName,
            constantName: scopePrefix + "Extensions_" + f.name, codec: codec, fieldNumber: Int(f.number),
            protoName: (scopeProtoName.isEmpty ? "" : scopeProtoName + ".") + f.name,
            accessorName: accessor, hasName: "has" + upper, clearName: "clear" + upper,
            type: isRepeated ? "[\(valueType)]" : valueType, isRepeated: isRepeated, defaultValue: defaultValue)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
