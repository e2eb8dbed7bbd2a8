/// An HTTP request as the REST transcoder reads it, from whichever HTTP version carried it.
public struct RESTRequest: Sendable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The request target: the path and, after `?`, the query.
    public var target: String
    /// The headers, names lowercased.
    public var headers: [(name: String, value: String)]
    /// The body, complete.
    public var body: [UInt8]
    /// The client's address, such as `ipv4:127.0.0.1:53012`.
    public var peer: String

    /// A request.
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - target: The path and query.
    ///   - headers: The headers, names lowercased.
    ///   - body: The body.
    ///   - peer: The client's address.
    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                peer: String = "") {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.peer = peer
    }

    /// The first value of header `name` (lowercase).
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// The transcoder's answer: a status, headers, and a body that is either complete or, for a
/// server-streaming method, newline-delimited JSON written as the responses come.
public struct RESTResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// The headers, `content-type` among them.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: Body

    /// A response body.
    public enum Body: Sendable {
        /// The whole body.
        case complete([UInt8])
        /// Chunks, each one or more complete lines, as they are produced.
        case stream(AsyncStream<[UInt8]>)
    }

    /// A response.
    ///
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: The headers.
    ///   - body: The body.
    public init(status: Int, headers: [(name: String, value: String)], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body, when it is complete.
    public var completeBody: [UInt8]? {
        if case .complete(let bytes) = body { return bytes }
        return nil
    }
}

/// How the REST transcoder maps HTTP onto gRPC beyond the bindings themselves.
public struct RESTConfiguration: Sendable {
    /// Request headers passed to the call as metadata, lowercase; everything else is dropped,
    /// so that hop-by-hop and proxy headers never reach handlers. `grpc-metadata-<key>`
    /// headers always pass, as `<key>` (grpc-gateway's convention).
    public var forwardedHeaders: Set<String> = ["authorization", "x-api-key", "x-request-id", "traceparent", "tracestate"]
    /// The largest request body accepted; a larger one is 413.
    public var maxBodyBytes = MessageSizeLimits.defaultMaxReceive
    /// How long an HTTP/1.1 connection may take to send a whole request, and may stay idle
    /// between requests, before it is closed (the clock stops while a request is answered).
    public var requestTimeout = Duration.seconds(30)

    /// The defaults.
    public init() {}
}
