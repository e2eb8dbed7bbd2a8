import NIOHTTP2
import Sluice

/// How transport-level outcomes become gRPC status codes.
enum StatusMapping {
    /// A response without `grpc-status` takes its code from the HTTP status
    /// (gRPC doc/http-grpc-status-mapping.md).
    static func code(forHTTPStatus status: Int) -> StatusCode {
        switch status {
        case 400: return .internal
        case 401: return .unauthenticated
        case 403: return .permissionDenied
        case 404: return .unimplemented
        case 429, 502, 503, 504: return .unavailable
        default: return .unknown
        }
    }

    /// RST_STREAM error codes as the client reports them (PROTOCOL-HTTP2.md, "Errors").
    static func code(forReset reason: HTTP2ErrorCode) -> StatusCode {
        switch reason {
        case .refusedStream: return .unavailable
        case .cancel: return .cancelled
        case .enhanceYourCalm: return .resourceExhausted
        case .inadequateSecurity: return .permissionDenied
        default: return .internal
        }
    }
}
