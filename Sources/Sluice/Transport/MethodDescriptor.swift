/// The four shapes of RPC.
public enum RPCKind: String, Hashable, Sendable {
    case unary
    case clientStreaming
    case serverStreaming
    case bidirectionalStreaming
}

/// Identifies a method for routing, interceptors and reflection.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// Fully qualified service name, such as `spooled.v1.QueueService`.
    public let service: String
    /// Method name, such as `Enqueue`.
    public let method: String
    public let kind: RPCKind

    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path`: `/spooled.v1.QueueService/Enqueue`.
    public var fullPath: String { "/\(service)/\(method)" }

    public var description: String { fullPath }
}
