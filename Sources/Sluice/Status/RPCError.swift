import SluiceProto

/// A failed RPC: a non-OK status code, a message, trailing metadata, and optional rich error
/// details (`google.rpc.Status.details`, sent in `grpc-status-details-bin`).
///
/// Servers throw it to fail a call with a chosen code; clients receive it for every call that
/// does not end OK. Any other error a handler throws reaches the client as UNKNOWN.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Never `.ok`.
    public var code: StatusCode
    public var message: String
    /// Trailing metadata sent with the status.
    public var metadata: Metadata
    /// Typed details, packed as `Any` (for example `google.rpc.ErrorInfo`).
    public var details: [Google_Protobuf_Any]

    /// An error with `code`; `.ok` is not an error and becomes `.unknown`.
    public init(code: StatusCode, message: String, metadata: Metadata = [:], details: [Google_Protobuf_Any] = []) {
        self.code = code == .ok ? .unknown : code
        self.message = message
        self.metadata = metadata
        self.details = details
    }

    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}

/// How a call ended: OK, or the error.
public struct Status: Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(code: StatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    public static let ok = Status(code: .ok)

    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}
