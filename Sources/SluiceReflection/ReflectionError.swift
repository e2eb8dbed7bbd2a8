/// Why a ``ReflectionService`` could not be made from the files it was given.
public enum ReflectionError: Error, Equatable, CustomStringConvertible {
    /// Two different descriptors were given for one file name (two modules built from
    /// different versions of one `.proto`, say).
    case conflictingFiles(name: String)
    /// A descriptor's bytes are not a `FileDescriptorProto`.
    case malformedDescriptor(file: String, reason: String)

    public var description: String {
        switch self {
        case .conflictingFiles(let name):
            return "two different descriptors of \(name): reflection can describe only one"
        case .malformedDescriptor(let file, let reason):
            return "the descriptor of \(file) is not a FileDescriptorProto: \(reason)"
        }
    }
}
