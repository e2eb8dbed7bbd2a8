/// What opens an RPC on the wire: the method, metadata and deadline.
public struct RequestHead: Sendable {
    public var method: MethodDescriptor
    public var metadata: Metadata
    /// When the call must end. Transports send the time left as `grpc-timeout`.
    public var deadline: ContinuousClock.Instant?
    /// The message encoding to send with (`grpc-encoding`), nil for identity.
    public var compression: CompressionAlgorithm?
    /// Encodings the peer accepts for what is sent back (`grpc-accept-encoding`).
    public var acceptEncoding: [String] = []
    /// Whether a channel that has no ready connection holds the call until one is ready (or
    /// the deadline passes) instead of failing it with UNAVAILABLE.
    public var waitForReady = false
    /// How the call's messages are serialized: the content subtype transports send
    /// (`application/grpc+json`) and servers answer in.
    public var messageFormat = MessageFormat.protobuf

    public init(method: MethodDescriptor, metadata: Metadata = [:], deadline: ContinuousClock.Instant? = nil,
                compression: CompressionAlgorithm? = nil) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.compression = compression
    }
}

/// A part of an RPC's response, in the order the protocol allows: headers, messages, then
/// the end. A Trailers-Only response is just `.end`.
public enum ResponsePart: Sendable {
    /// Response headers; `compression` is the encoding the messages that follow will use.
    case headers(Metadata, compression: CompressionAlgorithm? = nil)
    case message(SerializedMessage)
    /// The status and trailing metadata. `error` is nil when the call succeeded.
    case end(RPCError?, trailers: Metadata)
}

/// A serialized message as transports carry it, with its per-message compression flag.
public struct SerializedMessage: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Sent: whether to compress it with the call's encoding (a call without one sends it
    /// plain either way). Received: whether it arrived compressed.
    public var compressed: Bool

    public init(_ bytes: [UInt8], compressed: Bool = true) {
        self.bytes = bytes
        self.compressed = compressed
    }
}

/// Message encodings a call may use.
public struct CompressionAlgorithm: Hashable, Sendable, CustomStringConvertible {
    /// The `grpc-encoding` token.
    public let name: String

    public init(name: String) { self.name = name }

    public static let identity = CompressionAlgorithm(name: "identity")
    public static let gzip = CompressionAlgorithm(name: "gzip")
    public static let deflate = CompressionAlgorithm(name: "deflate")

    public var description: String { name }
}
