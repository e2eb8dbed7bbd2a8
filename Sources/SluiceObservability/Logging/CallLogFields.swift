import Logging
import Sluice

/// The metadata keys of the one log event the logging interceptors write per call: stable,
/// so that log queries and dashboards keep working.
public enum CallLogKeys {
    /// `package.Service/Method`.
    public static let method = "grpc.method"
    /// `client` or `server`.
    public static let side = "grpc.side"
    /// The status code's name: `OK`, `UNAVAILABLE`, ...
    public static let status = "grpc.status"
    /// The status message of a failed call.
    public static let statusMessage = "grpc.status_message"
    /// The call's duration in milliseconds, from the interceptor's start to the call's end.
    public static let durationMilliseconds = "grpc.duration_ms"
    /// How many attempts the call took (a client's retries and hedges).
    public static let attempts = "grpc.attempts"
    public static let requestMessages = "grpc.request_messages"
    public static let requestBytes = "grpc.request_bytes"
    public static let responseMessages = "grpc.response_messages"
    public static let responseBytes = "grpc.response_bytes"
    /// The peer's address (servers), or the target the client was given.
    public static let peer = "grpc.peer"
    /// The trace id the call carries, from the configured header or W3C `traceparent`.
    public static let traceID = "grpc.trace_id"
    /// The prefix of logged request metadata: `grpc.metadata.x-tenant`.
    public static let metadataPrefix = "grpc.metadata."
}

/// What the logging interceptors do with request metadata: nothing is logged unless named,
/// and some names are redacted even then.
public struct MetadataLogPolicy: Sendable, Hashable {
    /// Names (lowercase) whose values are logged.
    public var logged: Set<String>

    /// Logged only as `[redacted]`, whatever ``logged`` says: credentials, cookies, and every
    /// binary (`-bin`) value.
    public static let alwaysRedacted: Set<String> = ["authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"]

    public init(logging names: Set<String> = []) {
        self.logged = Set(names.map { $0.lowercased() })
    }

    /// The log metadata for `metadata` under this policy.
    func fields(for metadata: Metadata) -> Logger.Metadata {
        var fields: Logger.Metadata = [:]
        guard !logged.isEmpty else { return fields }
        for element in metadata where logged.contains(element.key) {
            let key = CallLogKeys.metadataPrefix + element.key
            if Self.alwaysRedacted.contains(element.key) || element.key.hasSuffix("-bin") {
                fields[key] = "[redacted]"
            } else if case .string(let value) = element.value {
                fields[key] = .string(value)
            } else {
                fields[key] = "[redacted]"
            }
        }
        return fields
    }
}

/// Finds a call's trace id: the value of a correlation header (seed 002's `x-trace-id`), else
/// the trace-id part of a W3C `traceparent`.
struct TraceIDLookup: Sendable {
    let header: String?

    func traceID(in metadata: Metadata) -> String? {
        if let header, case .string(let value)? = metadata[header].first { return value }
        // traceparent: version-traceid-parentid-flags, the trace id being 32 hex digits.
        if case .string(let parent)? = metadata["traceparent"].first {
            let parts = parent.split(separator: "-")
            if parts.count == 4, parts[1].count == 32 { return String(parts[1]) }
        }
        return nil
    }
}

/// Builds and writes the one event of a call.
struct CallLogEvent {
    var method: MethodDescriptor
    var side: String
    var peer: String?
    var started: ContinuousClock.Instant
    var error: RPCError?
    var attempts: Int?
    /// Requests and responses, from the side's point of view already turned into request and
    /// response counts.
    var requestMessages: Int
    var requestBytes: Int
    var responseMessages: Int
    var responseBytes: Int
    var traceID: String?
    var metadata: Logger.Metadata

    func write(to logger: Logger, level: Logger.Level, errorLevel: Logger.Level) {
        var fields = metadata
        fields[CallLogKeys.method] = "\(method.service)/\(method.method)"
        fields[CallLogKeys.side] = .string(side)
        fields[CallLogKeys.status] = "\(error?.code ?? .ok)"
        if let error { fields[CallLogKeys.statusMessage] = .string(error.message) }
        let milliseconds = started.duration(to: .now) / .milliseconds(1)
        fields[CallLogKeys.durationMilliseconds] = "\((milliseconds * 1000).rounded() / 1000)"
        if let attempts { fields[CallLogKeys.attempts] = "\(attempts)" }
        fields[CallLogKeys.requestMessages] = "\(requestMessages)"
        fields[CallLogKeys.requestBytes] = "\(requestBytes)"
        fields[CallLogKeys.responseMessages] = "\(responseMessages)"
        fields[CallLogKeys.responseBytes] = "\(responseBytes)"
        if let peer { fields[CallLogKeys.peer] = .string(peer) }
        if let traceID { fields[CallLogKeys.traceID] = .string(traceID) }
        let failed = error != nil
        logger.log(level: failed ? max(errorLevel, level) : level,
                   failed ? "gRPC call failed" : "gRPC call", metadata: fields)
    }
}
