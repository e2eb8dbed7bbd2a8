/// The four shapes of RPC.
public enum RPCKind: String, Hashable, Sendable {
    case unary
    case clientStreaming
    case serverStreaming
    case bidirectionalStreaming

    /// Whether the client sends exactly one request (unary and server-streaming calls).
    public var hasSingleRequest: Bool { self == .unary || self == .serverStreaming }
}

/// Identifies a method for routing, interceptors and reflection.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// Fully qualified service name, such as `spooled.v1.QueueService`.
    public let service: String
    /// Method name, such as `Enqueue`.
    public let method: String
    public let kind: RPCKind
    /// The HTTP/2 `:path`: `/spooled.v1.QueueService/Enqueue`. Stored, as every call sends or
    /// routes by it.
    public let fullPath: String

    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
        self.fullPath = "/\(service)/\(method)"
    }

    /// The method a `:path` such as `/package.Service/Method` names, or nil if it is not of
    /// that form. The kind is unknown from the path alone; the router knows it.
    public init?(path: String, kind: RPCKind = .bidirectionalStreaming) {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        let serviceStart = utf8.index(after: utf8.startIndex)
        guard let slash = utf8[serviceStart...].firstIndex(of: UInt8(ascii: "/")), slash != serviceStart else {
            return nil
        }
        let methodStart = utf8.index(after: slash)
        guard methodStart != utf8.endIndex, !utf8[methodStart...].contains(UInt8(ascii: "/")) else { return nil }
        self.service = String(path[serviceStart..<slash])
        self.method = String(path[methodStart...])
        self.kind = kind
        self.fullPath = path
    }

    public var description: String { fullPath }
}
