/// A `.proto` file as protoc saw it: its serialized `google.protobuf.FileDescriptorProto`
/// (without source comments) and the files it imports.
///
/// protoc-gen-swift-grpc embeds one per generated file (`ProtoFile_<path>.descriptor`, and
/// `fileDescriptor` on each service), so that server reflection, and tools that need a
/// message's schema at run time, need no descriptor set beside the binary. The bytes are
/// decoded from the generated literal on first use.
public struct ProtoFileDescriptor: Sendable, Equatable {
    /// The file's path as imported, `shop/catalog.proto`.
    public let name: String
    /// The serialized `FileDescriptorProto`.
    public let serializedFileDescriptorProto: [UInt8]
    /// The files `name` imports, in the order of its `dependency` list.
    public let dependencies: [ProtoFileDescriptor]

    /// A descriptor from its serialized bytes.
    public init(name: String, serializedFileDescriptorProto: [UInt8], dependencies: [ProtoFileDescriptor]) {
        self.name = name
        self.serializedFileDescriptorProto = serializedFileDescriptorProto
        self.dependencies = dependencies
    }

    /// A descriptor from the base64 literal generated code holds.
    ///
    /// Only generated code calls this, with a literal the generator wrote from bytes it had
    /// just encoded: a literal that does not decode is a generator bug, not input, so it traps.
    public init(name: String, base64: String, dependencies: [ProtoFileDescriptor]) {
        guard let bytes = Base64.decode(base64) else {
            preconditionFailure("the embedded descriptor of \(name) is not base64: regenerate it")
        }
        self.init(name: name, serializedFileDescriptorProto: bytes, dependencies: dependencies)
    }

    /// This file and every file it imports, directly or not, each once, this file first.
    public var transitiveClosure: [ProtoFileDescriptor] {
        var seen: Set<String> = []
        var ordered: [ProtoFileDescriptor] = []
        var pending = [self]
        while let file = pending.popLast() {
            guard seen.insert(file.name).inserted else { continue }
            ordered.append(file)
            pending.append(contentsOf: file.dependencies.reversed())
        }
        return ordered
    }
}
