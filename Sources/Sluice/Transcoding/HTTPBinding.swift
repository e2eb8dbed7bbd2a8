import SluiceProto

/// How a gRPC method is served over HTTP/JSON: one `google.api.http` rule (or one of its
/// `additional_bindings`), as the generator emits it into each service's `httpBindings`.
public struct HTTPBinding: Sendable {
    /// The method the binding calls.
    public let method: MethodDescriptor
    /// The request message type, which the transcoder reads the HTTP request into (so that a
    /// malformed one is a 400 naming the field) before calling the method with it.
    public let requestType: any JSONMessage.Type
    /// The response message type, which the transcoder writes as JSON.
    public let responseType: any JSONMessage.Type
    /// The HTTP method, `GET`, `POST`, ...; `*` matches any.
    public let httpMethod: String
    /// The path template, `/v1/{name=messages/*}`.
    public let path: String
    /// Where the HTTP body goes: `*` for the whole request, a field name, or empty for none.
    public let body: String
    /// The response field written as the HTTP body; empty for the whole response.
    public let responseBody: String
    /// Dotted proto field paths of the request that hold `bool`s (or `BoolValue`s), which a
    /// path variable or query parameter must give as JSON `true`/`false` rather than a string.
    public let boolFields: Set<String>
    /// Dotted proto field paths of the request that are repeated (not maps): a query parameter
    /// for one may repeat.
    public let repeatedFields: Set<String>

    /// A binding, as generated code declares it.
    ///
    /// - Parameters:
    ///   - method: The method called.
    ///   - requestType: The method's request type.
    ///   - responseType: The method's response type.
    ///   - httpMethod: The HTTP method.
    ///   - path: The path template.
    ///   - body: The request field the body fills.
    ///   - responseBody: The response field the body holds.
    ///   - boolFields: The request's boolean field paths.
    ///   - repeatedFields: The request's repeated field paths.
    public init(method: MethodDescriptor, requestType: any JSONMessage.Type, responseType: any JSONMessage.Type, httpMethod: String, path: String, body: String = "", responseBody: String = "",
                boolFields: Set<String> = [], repeatedFields: Set<String> = []) {
        self.method = method
        self.requestType = requestType
        self.responseType = responseType
        self.httpMethod = httpMethod
        self.path = path
        self.body = body
        self.responseBody = responseBody
        self.boolFields = boolFields
        self.repeatedFields = repeatedFields
    }
}
