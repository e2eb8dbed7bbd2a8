import SluiceProto

// Rich error details (the `google.rpc` error model): a failed call can carry typed messages
// such as `Google_Rpc_ErrorInfo` or `Google_Rpc_BadRequest`. On the wire they travel as a
// serialized `google.rpc.Status` in the `grpc-status-details-bin` trailer.
extension RPCError {
    /// An error whose details are the given messages, each packed as `Any`.
    public init(code: StatusCode, message: String, metadata: Metadata = [:], packing details: [any SluiceProto.Message]) {
        self.init(code: code, message: message, metadata: metadata,
                  details: details.map { Google_Protobuf_Any(packing: $0) })
    }

    /// The first detail of type `M`, or nil if there is none.
    public func detail<M: SluiceProto.Message>(_ type: M.Type = M.self) -> M? {
        for packed in details where packed.isA(type) {
            if let message = try? packed.unpack(type) { return message }
        }
        return nil
    }

    /// Appends `message` to the details.
    public mutating func addDetail(_ message: some SluiceProto.Message) {
        details.append(Google_Protobuf_Any(packing: message))
    }

    /// The error as a `google.rpc.Status`, as `grpc-status-details-bin` carries it.
    public var statusProto: Google_Rpc_Status {
        var status = Google_Rpc_Status()
        status.code = Int32(code.rawValue)
        status.message = message
        status.details = details
        return status
    }

    /// The details a received `grpc-status-details-bin` value carries, if it is a valid
    /// `google.rpc.Status` whose code matches `code` (as grpc-java requires); nil otherwise.
    /// - Parameters:
    ///   - bytes: The decoded (not base64) trailer value.
    ///   - code: The call's `grpc-status`.
    public static func details(fromStatusDetails bytes: [UInt8], code: StatusCode) -> [Google_Protobuf_Any]? {
        guard let status = try? Google_Rpc_Status(serializedBytes: bytes), status.code == Int32(code.rawValue) else {
            return nil
        }
        return status.details
    }
}
