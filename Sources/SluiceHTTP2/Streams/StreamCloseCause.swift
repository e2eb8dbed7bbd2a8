import NIOHPACK
import NIOHTTP2

/// Why a stream closed, so that a call ends with the cause rather than a generic "the stream
/// closed".
enum StreamCloseCause {
    /// Both sides ended the stream, or the peer reset it (the endpoint saw its RST_STREAM).
    case ended
    /// swift-nio-http2 reset this stream because the peer broke the protocol on it (RFC 9113
    /// stream error: a window overflow, an invalid header, a frame in the wrong state). The
    /// connection and its other streams carry on.
    case protocolViolation(HTTP2ErrorCode, (any Error)?)
    /// The peer sent GOAWAY, and the connection closed after it (the stream may have been
    /// processed).
    case goAway(HTTP2ErrorCode, debugData: String)
    /// The peer sent GOAWAY whose last stream ID is below this stream's: the peer never
    /// processed it, so it may be sent again elsewhere.
    case goAwayUnprocessed(HTTP2ErrorCode, debugData: String)
    /// The connection failed: a connection error (swift-nio-http2 sent GOAWAY) or an I/O error.
    case connectionError(any Error)
    /// The connection closed for another reason (this side closed it, or the peer vanished).
    case connectionClosed

    /// Whether the peer's header block was larger than this side accepts.
    var isHeaderListTooLarge: Bool {
        let error: (any Error)?
        switch self {
        case .protocolViolation(_, let cause): error = cause
        case .connectionError(let cause): error = cause
        default: error = nil
        }
        return error is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock || error is NIOHPACKErrors.MaxHeaderListSizeViolation
    }

    /// A sentence for a call's status message.
    var reason: String {
        switch self {
        case .ended: return "the stream closed"
        case .protocolViolation(let code, let error):
            return "the stream was reset (\(code)) for a protocol violation" + (error.map { ": \($0)" } ?? "")
        case .goAway(let code, let debugData), .goAwayUnprocessed(let code, let debugData):
            return "GOAWAY received (\(code)\(debugData.isEmpty ? "" : ", \"\(debugData)\""))"
        case .connectionError(let error): return "the connection failed: \(error)"
        case .connectionClosed: return "the connection closed"
        }
    }
}
