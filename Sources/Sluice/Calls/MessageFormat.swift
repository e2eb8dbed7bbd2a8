import SluiceProto

/// How a call's messages are serialized on the wire: gRPC's content subtype, the `+json` of
/// `application/grpc+json`.
///
/// A server answers each call in the format it arrived in, so one service serves both; a
/// client chooses with ``CallOptions/messageFormat`` (per client through its default
/// options, or per call). JSON is the proto3 JSON mapping of the generated types, as
/// grpc-go's registered `json` codec and grpc-java's JSON marshallers speak it: useful for
/// debugging with text tools, or for peers that have JSON but no protobuf runtime.
public enum MessageFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Protocol Buffers binary: `application/grpc` or `application/grpc+proto`.
    case protobuf = "proto"
    /// The proto3 JSON mapping: `application/grpc+json`.
    case json

    /// The content subtype, as it follows `application/grpc+`.
    public var contentSubtype: String { rawValue }

    /// The format a request's content subtype names: nil for a subtype Sluice has no codec
    /// for. An empty subtype (plain `application/grpc`) is protobuf, as the spec says.
    public init?(contentSubtype: some StringProtocol) {
        if contentSubtype.isEmpty { self = .protobuf; return }
        switch contentSubtype.lowercased() {
        case "proto": self = .protobuf
        case "json": self = .json
        default: return nil
        }
    }

    public var description: String { rawValue }

    /// `message` in this format.
    ///
    /// - Parameter message: The message to serialize.
    /// - Returns: Its bytes.
    /// - Throws: ``RPCError`` INTERNAL if the message cannot be written as JSON (a type
    ///   without a JSON mapping, or an `Any` whose type no registry knows).
    public func serialize<M: SluiceProto.Message>(_ message: M) throws(RPCError) -> [UInt8] {
        switch self {
        case .protobuf:
            return message.serializedBytes()
        case .json:
            guard let message = message as? any JSONMessage else {
                throw RPCError(code: .internal, message: "\(M.protoMessageName) has no JSON mapping")
            }
            do {
                return try message.jsonUTF8Bytes()
            } catch {
                throw RPCError(code: .internal, message: "could not write \(M.protoMessageName) as JSON: \(error)")
            }
        }
    }

    /// A message of type `type` read from `bytes` in this format; errors are the decoders'
    /// own (`ProtobufDecodingError`, `JSONDecodingError`), for the caller to wrap with its status.
    ///
    /// - Parameters:
    ///   - type: The message type to read.
    ///   - bytes: The serialized message.
    /// - Returns: The message.
    public func deserialize<M: SluiceProto.Message>(_ type: M.Type, from bytes: [UInt8]) throws -> M {
        switch self {
        case .protobuf:
            return try M(serializedBytes: bytes)
        case .json:
            guard let json = M.self as? any JSONMessage.Type else {
                throw RPCError(code: .internal, message: "\(M.protoMessageName) has no JSON mapping")
            }
            // The cast cannot fail: `json` is `M.self` seen through its JSON conformance.
            guard let message = try json.init(jsonUTF8Bytes: bytes, options: JSONDecodingOptions()) as? M else {
                throw RPCError(code: .internal, message: "\(M.protoMessageName) decoded as another type")
            }
            return message
        }
    }
}
