import NIOHPACK
import Sluice

/// Building and reading the HEADERS frames of gRPC over HTTP/2 (PROTOCOL-HTTP2.md).
enum GRPCHeaders {
    static let contentType = "application/grpc"
    static let jsonContentType = "application/grpc+json"

    /// The content type a call in `format` is sent and answered with: plain `application/grpc`
    /// for protobuf, as every implementation sends it.
    static func contentType(_ format: MessageFormat) -> String {
        format == .json ? jsonContentType : contentType
    }

    /// What a `content-type` says: `.notGRPC` unless it is `application/grpc`, optionally
    /// with `+subtype` and parameters; `.unsupported` for a subtype Sluice has no codec for.
    static func messageFormat(contentType value: String) -> ContentTypeReading {
        // Fast path: what Sluice, C-core and grpc-go clients send for protobuf.
        if value == contentType { return .grpc(.protobuf) }
        // Parameters (`; charset=...`) and surrounding spaces say nothing about the codec.
        let mediaType = value.prefix { $0 != ";" }.drop { $0 == " " || $0 == "\t" }
        let lowered = String(mediaType.reversed().drop { $0 == " " || $0 == "\t" }.reversed()).lowercased()
        guard lowered.hasPrefix(contentType) else { return .notGRPC }
        let rest = lowered.dropFirst(contentType.count)
        if rest.isEmpty { return .grpc(.protobuf) }
        guard rest.first == "+" else { return .notGRPC }
        let subtype = rest.dropFirst()
        guard let format = MessageFormat(contentSubtype: subtype) else { return .unsupported(String(subtype)) }
        return .grpc(format)
    }

    /// A request's `content-type`, read.
    enum ContentTypeReading: Equatable {
        case grpc(MessageFormat)
        case unsupported(String)
        case notGRPC
    }
    static let userAgent = "grpc-swift-sluice/0.1"
    /// The trailer carrying a serialized `google.rpc.Status` with rich error details.
    static let statusDetails = "grpc-status-details-bin"

    /// Request headers, in the order the spec lists them: pseudo-headers, te, content-type,
    /// encodings, user-agent, timeout, then custom metadata.
    static func request(_ head: RequestHead, scheme: String, authority: String) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(8 + head.metadata.count)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":path", value: head.method.fullPath)
        headers.add(name: ":authority", value: authority)
        headers.add(name: "te", value: "trailers")
        headers.add(name: "content-type", value: contentType(head.messageFormat))
        if let compression = head.compression, compression != .identity {
            headers.add(name: "grpc-encoding", value: compression.name)
        }
        headers.add(name: "grpc-accept-encoding", value: MessageCompression.acceptEncoding)
        headers.add(name: "user-agent", value: userAgent)
        if let deadline = head.deadline {
            headers.add(name: "grpc-timeout", value: GRPCTimeout.encode(ContinuousClock.now.duration(to: deadline)))
        }
        add(head.metadata, to: &headers)
        return headers
    }

    /// The encodings a request's `grpc-accept-encoding` lists. Sluice's own list, which is also
    /// C-core's, comes back as a shared array without being split.
    static func acceptedEncodings(_ headers: HPACKHeaders) -> [String] {
        guard let value = headers.first(name: "grpc-accept-encoding") else { return [] }
        if value == MessageCompression.acceptEncoding { return MessageCompression.acceptedNames }
        return headers[canonicalForm: "grpc-accept-encoding"].map { String($0) }
    }

    /// Response headers ahead of the first message.
    static func response(_ metadata: Metadata, encoding: CompressionAlgorithm?, format: MessageFormat = .protobuf) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(4 + metadata.count)
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: contentType(format))
        if let encoding, encoding != .identity { headers.add(name: "grpc-encoding", value: encoding.name) }
        headers.add(name: "grpc-accept-encoding", value: MessageCompression.acceptEncoding)
        add(metadata, to: &headers)
        return headers
    }

    /// Trailers; with `trailersOnly`, also the response headers a Trailers-Only response needs.
    static func trailers(_ error: RPCError?, _ metadata: Metadata, trailersOnly: Bool,
                         format: MessageFormat = .protobuf) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(5 + metadata.count)
        if trailersOnly {
            headers.add(name: ":status", value: "200")
            headers.add(name: "content-type", value: contentType(format))
        }
        headers.add(name: "grpc-status", value: String(error?.code.rawValue ?? 0))
        if let error, !error.message.isEmpty {
            headers.add(name: "grpc-message", value: StatusMessageEncoding.encode(error.message))
        }
        if let error, !error.details.isEmpty {
            headers.add(name: statusDetails, value: Metadata.encodeBinary(error.statusProto.serializedBytes()))
        }
        add(metadata, to: &headers)
        return headers
    }

    /// Custom metadata into headers, without the reserved ones; binary values as base64.
    static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for element in metadata where !Metadata.isReserved(element.key) {
            switch element.value {
            case .string(let value): headers.add(name: element.key, value: value)
            case .binary(let bytes): headers.add(name: element.key, value: Metadata.encodeBinary(bytes))
            }
        }
    }

    /// Custom metadata out of received headers: reserved headers are left out, `-bin` values
    /// decoded (a value that is not base64 is dropped rather than failing the call).
    static func metadata(from headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !Metadata.isReserved(name) {
            if Metadata.isBinary(name) {
                if let bytes = Metadata.decodeBinary(Substring(value)) { metadata.add(name, binary: bytes) }
            } else {
                metadata.add(name, value)
            }
        }
        return metadata
    }

    /// The status a trailers block (or Trailers-Only response) carries. Without `grpc-status`,
    /// the HTTP status decides.
    static func status(from headers: HPACKHeaders, httpStatus: Int?) -> RPCError? {
        guard let raw = headers.first(name: "grpc-status") else {
            let http = httpStatus ?? headers.first(name: ":status").flatMap { Int($0) }
            let code = http.map(StatusMapping.code(forHTTPStatus:)) ?? .unknown
            return RPCError(code: code == .ok ? .unknown : code,
                            message: "response had no grpc-status" + (http.map { " (HTTP \($0))" } ?? ""))
        }
        guard let number = Int(raw), let code = StatusCode(rawValue: number) else {
            return RPCError(code: .unknown, message: "invalid grpc-status '\(raw)'")
        }
        if code == .ok { return nil }
        let message = headers.first(name: "grpc-message").map(StatusMessageEncoding.decode) ?? ""
        var error = RPCError(code: code, message: message, metadata: metadata(from: headers))
        // Details that do not decode, or whose code disagrees with grpc-status, are dropped:
        // the status itself is still right.
        if let encoded = headers.first(name: statusDetails), let bytes = Metadata.decodeBinary(Substring(encoded)),
           let details = RPCError.details(fromStatusDetails: bytes, code: code) {
            error.details = details
        }
        return error
    }
}
