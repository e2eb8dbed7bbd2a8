import SluiceProto

/// REST/JSON transcoding from `google.api.http`: an HTTP request becomes a gRPC call, in
/// JSON, to the same service implementation (its interceptors included), and the call's
/// answer becomes the HTTP response, as grpc-gateway and Envoy's transcoder do.
///
/// - Routing: the bindings whose template matches the path; of those, the one for the
///   request's HTTP method with the most literal segments. A path no binding matches is 404,
///   one that only other methods serve is 405 with `Allow`.
/// - The request message: see `RESTMessageBuilder`: body, path variables, query parameters.
/// - Metadata: the headers ``RESTConfiguration/forwardedHeaders`` allows, `grpc-metadata-*`
///   headers, and `grpc-timeout` as the call's deadline.
/// - The answer: the response message (or its `response_body` field) as JSON with status
///   200; response metadata as `grpc-metadata-<key>` headers; a failure as a JSON
///   `google.rpc.Status` with ``StatusCode/httpStatus``; a server-streaming method as
///   newline-delimited JSON (`application/x-ndjson`), one `{"result": ...}` per message and,
///   if the call fails after its first message, a last `{"error": status}` line.
/// - Client-streaming and bidirectional methods are not served over REST (501).
public struct RESTTranscoder: Sendable {
    struct Route: Sendable {
        let binding: HTTPBinding
        let template: PathTemplate
    }

    let routes: [Route]
    /// How headers and bodies are mapped and bounded.
    public let configuration: RESTConfiguration

    /// A transcoder for `bindings`.
    ///
    /// - Parameters:
    ///   - bindings: The HTTP bindings served, from the services' `httpBindings`.
    ///   - configuration: Header forwarding and body limits.
    /// - Throws: ``PathTemplateError`` for a template that breaks the grammar.
    public init(bindings: [HTTPBinding], configuration: RESTConfiguration = RESTConfiguration()) throws(PathTemplateError) {
        var routes: [Route] = []
        for binding in bindings {
            routes.append(Route(binding: binding, template: try PathTemplate(binding.path)))
        }
        self.routes = routes
        self.configuration = configuration
    }

    /// A transcoder for every binding of `services`.
    ///
    /// - Parameters:
    ///   - services: The services whose `httpBindings` are served.
    ///   - configuration: Header forwarding and body limits.
    /// - Throws: ``PathTemplateError`` for a template that breaks the grammar.
    public init(services: [any RegistrableService], configuration: RESTConfiguration = RESTConfiguration()) throws(PathTemplateError) {
        try self.init(bindings: services.flatMap(\.httpBindings), configuration: configuration)
    }

    /// Answers `request` by running its call through `dispatch` (a server's
    /// ``GRPCServer/handle(_:)``).
    ///
    /// - Parameters:
    ///   - request: The HTTP request.
    ///   - dispatch: Runs a gRPC stream to its end.
    /// - Returns: The HTTP response; a streamed body keeps the call running until it is read
    ///   to the end or dropped.
    public func respond(to request: RESTRequest, dispatch: @escaping @Sendable (ServerStream) async -> Void) async -> RESTResponse {
        let path: Substring
        let query: Substring?
        if let mark = request.target.firstIndex(of: "?") {
            path = request.target[..<mark]
            query = request.target[request.target.index(after: mark)...]
        } else {
            path = request.target[...]
            query = nil
        }
        var allowed: [String] = []
        var chosen: (route: Route, values: [(fieldPath: [String], value: String)])?
        for route in routes {
            guard let values = route.template.match(String(path)) else { continue }
            allowed.append(route.binding.httpMethod)
            guard route.binding.httpMethod == request.method || route.binding.httpMethod == "*" else { continue }
            if route.template.literalCount > chosen?.route.template.literalCount ?? -1 {
                chosen = (route, values)
            }
        }
        guard let (route, values) = chosen else {
            if allowed.isEmpty {
                return Self.errorResponse(RPCError(code: .notFound, message: "no method is bound to \(request.method) \(path)"),
                                          httpStatus: 404)
            }
            var response = Self.errorResponse(
                RPCError(code: .unimplemented, message: "\(path) does not take \(request.method); it takes \(allowed.joined(separator: ", "))"),
                httpStatus: 405)
            response.headers.append(("allow", Array(Set(allowed)).sorted().joined(separator: ", ")))
            return response
        }
        let method = route.binding.method
        guard method.kind == .unary || method.kind == .serverStreaming else {
            return Self.errorResponse(RPCError(code: .unimplemented, message: "\(method.fullPath) streams requests, which REST does not carry"))
        }
        guard request.body.count <= configuration.maxBodyBytes else {
            return Self.errorResponse(
                RPCError(code: .resourceExhausted, message: "the body of \(request.body.count) bytes exceeds the \(configuration.maxBodyBytes)-byte limit"),
                httpStatus: 413)
        }
        let message: [UInt8]
        do {
            let json = try RESTMessageBuilder.requestJSON(binding: route.binding, pathValues: values, query: query, body: request.body)
            // Read here, so that a malformed request is the client's 400 with the field's path,
            // not the INTERNAL a gRPC server answers a message it cannot decode with.
            message = try route.binding.requestType.init(jsonUTF8Bytes: json, options: JSONDecodingOptions()).serializedBytes()
        } catch let error as RESTRequestError {
            return Self.errorResponse(RPCError(code: .invalidArgument, message: error.reason))
        } catch {
            return Self.errorResponse(RPCError(code: .invalidArgument, message: "\(error)"))
        }
        var head = RequestHead(method: method, metadata: metadata(from: request))
        if let timeout = request.header("grpc-timeout") {
            guard let duration = GRPCTimeout.parse(timeout) else {
                return Self.errorResponse(RPCError(code: .invalidArgument, message: "malformed grpc-timeout '\(timeout)'"))
            }
            head.deadline = .now + duration
        }
        let requests = makeRPCStream(ofMessagesUpTo: configuration.maxBodyBytes, highWatermark: 1)
        requests.writer.yield(SerializedMessage(message, compressed: false))
        requests.writer.finish()
        let responses = makeRPCStream(of: ResponsePart.self, highWatermark: 16)
        let stream = ServerStream(head: head, requests: requests.sequence, responses: responses.writer, peer: request.peer)
        let call = Task { await dispatch(stream) }
        return await withTaskCancellationHandler {
            await answer(binding: route.binding, parts: responses.sequence, call: call)
        } onCancel: {
            call.cancel()
        }
    }

    /// Reads the call's parts up to its first message or its end, and answers from them.
    private func answer(binding: HTTPBinding, parts: RPCAsyncSequence<ResponsePart>, call: Task<Void, Never>) async -> RESTResponse {
        let method = binding.method
        var iterator = parts.makeAsyncIterator()
        var headers: [(name: String, value: String)] = []
        var first: [UInt8]?
        do {
            loop: while let part = try await iterator.next() {
                switch part {
                case .headers(let metadata, _):
                    headers += Self.metadataHeaders(metadata, prefix: "grpc-metadata-")
                case .message(let message):
                    first = message.bytes
                    break loop
                case .end(let error, let trailers):
                    headers += Self.metadataHeaders(trailers, prefix: "grpc-trailer-")
                    if let error {
                        var response = Self.errorResponse(error)
                        response.headers += headers
                        return response
                    }
                    break loop
                }
            }
        } catch {
            return Self.errorResponse(RPCError(code: .internal, message: "the call ended without a status: \(error)"))
        }
        if method.kind == .unary {
            guard let first else {
                return Self.errorResponse(RPCError(code: .internal, message: "\(method.fullPath) ended without a response"))
            }
            // The end still follows the message: its trailers become headers, its error the answer.
            while let part = try? await iterator.next() {
                guard case .end(let error, let trailers) = part else { continue }
                headers += Self.metadataHeaders(trailers, prefix: "grpc-trailer-")
                if let error {
                    var response = Self.errorResponse(error)
                    response.headers += headers
                    return response
                }
            }
            guard let json = Self.responseJSON(first, binding) else {
                return Self.errorResponse(RPCError(code: .internal, message: "the response could not be written as JSON"))
            }
            return RESTResponse(status: 200, headers: [("content-type", "application/json")] + headers, body: .complete(json))
        }
        let (lines, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingOldest(16))
        continuation.onTermination = { _ in call.cancel() }
        let reader = Task { [iterator] in
            var iterator = iterator
            if let first { continuation.yield(Self.resultLine(first, binding)) }
            do {
                while let part = try await iterator.next() {
                    switch part {
                    case .headers: continue
                    case .message(let message): continuation.yield(Self.resultLine(message.bytes, binding))
                    case .end(let error, _):
                        if let error { continuation.yield(Self.errorLine(error)) }
                    }
                }
            } catch {
                continuation.yield(Self.errorLine(RPCError(code: .internal, message: "the call ended without a status")))
            }
            continuation.finish()
        }
        _ = reader
        return RESTResponse(status: 200, headers: [("content-type", "application/x-ndjson")] + headers, body: .stream(lines))
    }

    /// The call's metadata: allowed headers, and `grpc-metadata-*` ones without the prefix.
    private func metadata(from request: RESTRequest) -> Metadata {
        var metadata = Metadata()
        for (name, value) in request.headers {
            if configuration.forwardedHeaders.contains(name) {
                metadata.add(name, .string(value))
            } else if name.hasPrefix("grpc-metadata-"), name.count > "grpc-metadata-".count {
                let key = String(name.dropFirst("grpc-metadata-".count))
                if key.hasSuffix("-bin"), let bytes = Base64.decode(value) {
                    metadata.add(key, .binary(bytes))
                } else if !key.hasSuffix("-bin") {
                    metadata.add(key, .string(value))
                }
            }
        }
        return metadata
    }

    private static func metadataHeaders(_ metadata: Metadata, prefix: String) -> [(name: String, value: String)] {
        metadata.map { element in
            switch element.value {
            case .string(let value): (prefix + element.key, value)
            case .binary(let bytes): (prefix + element.key, Base64.encode(bytes))
            }
        }
    }

    /// A response message, serialized, as the HTTP body: JSON of the whole message or of its
    /// `response_body` field; nil if it does not decode or encode.
    private static func responseJSON(_ bytes: [UInt8], _ binding: HTTPBinding) -> [UInt8]? {
        guard let message = try? binding.responseType.init(serializedBytes: bytes),
              let json = try? message.jsonUTF8Bytes(options: JSONEncodingOptions()) else { return nil }
        return RESTMessageBuilder.responseBody(json, field: binding.responseBody)
    }

    private static func resultLine(_ message: [UInt8], _ binding: HTTPBinding) -> [UInt8] {
        guard let json = responseJSON(message, binding) else {
            return errorLine(RPCError(code: .internal, message: "a response could not be written as JSON"))
        }
        return Array(#"{"result":"#.utf8) + json + Array("}\n".utf8)
    }

    private static func errorLine(_ error: RPCError) -> [UInt8] {
        Array(#"{"error":"#.utf8) + statusJSON(error) + Array("}\n".utf8)
    }

    /// `error` as a JSON `google.rpc.Status`, its details included when their types are the
    /// standard error details.
    static func statusJSON(_ error: RPCError) -> [UInt8] {
        var options = JSONEncodingOptions()
        options.typeRegistry = errorDetailTypes
        let status = error.statusProto
        if let bytes = try? status.jsonUTF8Bytes(options: options) { return bytes }
        var bare = status
        bare.details = []
        return (try? bare.jsonUTF8Bytes()) ?? Array("{}".utf8)
    }

    static let errorDetailTypes = JSONTypeRegistry([
        Google_Rpc_ErrorInfo.self, Google_Rpc_RetryInfo.self, Google_Rpc_DebugInfo.self, Google_Rpc_QuotaFailure.self,
        Google_Rpc_PreconditionFailure.self, Google_Rpc_BadRequest.self, Google_Rpc_RequestInfo.self,
        Google_Rpc_ResourceInfo.self, Google_Rpc_Help.self, Google_Rpc_LocalizedMessage.self,
    ])

    /// A failure as REST answers it.
    static func errorResponse(_ error: RPCError, httpStatus: Int? = nil) -> RESTResponse {
        RESTResponse(status: httpStatus ?? error.code.httpStatus, headers: [("content-type", "application/json")],
                     body: .complete(statusJSON(error)))
    }
}
