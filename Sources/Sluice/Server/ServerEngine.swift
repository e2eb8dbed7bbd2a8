import SluiceProto

/// Runs one accepted stream: routing, deadline, interceptors, handler, response.
enum ServerEngine {
    static func handle(_ stream: ServerStream, router: RPCRouter, interceptors: [any ServerInterceptor]) async {
        guard let route = router.route(for: stream.head.method.fullPath) else {
            for case let observer as any UnimplementedCallObserver in interceptors {
                observer.observeUnimplementedCall(stream.head.method, peer: stream.peer)
            }
            stream.responses.yield(.end(
                RPCError(code: .unimplemented, message: "method \(stream.head.method.fullPath) is not implemented"),
                trailers: [:]))
            stream.responses.finish()
            return
        }
        let context = ServerContext(method: route.method, metadata: stream.head.metadata,
                                    deadline: stream.head.deadline, peer: stream.peer,
                                    acceptEncoding: stream.head.acceptEncoding, messageFormat: stream.head.messageFormat,
                                    responses: stream.responses)
        do {
            try await ServerContext.$current.withValue(context) {
                if let deadline = context.deadline {
                    try await withDeadline(deadline) {
                        try await route.handle(stream, context, interceptors)
                    }
                } else {
                    try await route.handle(stream, context, interceptors)
                }
            }
        } catch {
            let failure: RPCError
            switch error {
            case let error as RPCError: failure = error
            case is CancellationError: failure = RPCError(code: .cancelled, message: "the call was cancelled")
            default: failure = RPCError(code: .unknown, message: "\(error)")
            }
            var trailers = context.call.state.withLock { $0.trailers }
            trailers.add(contentsOf: failure.metadata)
            stream.responses.yield(.end(failure, trailers: trailers))
        }
        stream.responses.finish()
    }

    /// Runs `body`, cancelling it and failing with DEADLINE_EXCEEDED when `deadline` passes.
    static func withDeadline(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw RPCError(code: .deadlineExceeded, message: "deadline exceeded")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    static func run<Request: Sendable, Response: Sendable>(
        _ request: StreamingServerRequest<Request>,
        _ context: ServerContext,
        _ remaining: ArraySlice<any ServerInterceptor>,
        _ handler: @escaping @Sendable (StreamingServerRequest<Request>, ServerContext) async throws -> StreamingServerResponse<Response>
    ) async throws -> StreamingServerResponse<Response> {
        guard let first = remaining.first else { return try await handler(request, context) }
        let rest = remaining.dropFirst()
        return try await first.intercept(request: request, context: context) { request, context in
            try await run(request, context, rest, handler)
        }
    }

    /// Writes the response: headers before the first message, then messages, then the end.
    static func write<Response: SluiceProto.Message>(
        _ response: StreamingServerResponse<Response>, context: ServerContext, to out: RPCWriter<ResponsePart>
    ) async throws {
        // Capturing the call state alone costs no allocation. Headers the handler returned
        // with its response (rare: generated handlers add them through the context) cost the
        // closure a context of its own.
        let call = context.call
        let headers = response.headers
        let writer: MessageWriter<Response>
        if headers.isEmpty {
            writer = MessageWriter(compressible: { message, compressed in
                try await call.writeMessage(call.messageFormat.serialize(message), compressed: compressed, headers: [:])
            })
        } else {
            writer = MessageWriter(compressible: { message, compressed in
                try await call.writeMessage(call.messageFormat.serialize(message), compressed: compressed, headers: headers)
            })
        }
        var trailers = try await response.producer(writer)
        if !context.call.state.withLock({ $0.headersSent }),
           !response.headers.isEmpty || !context.call.state.withLock({ $0.headers.isEmpty }) {
            // Headers set but no message: send them ahead of the trailers.
            var headers = response.headers
            headers.add(contentsOf: context.call.state.withLock { $0.headers })
            try await out.write(.headers(headers))
        }
        trailers.add(contentsOf: context.call.state.withLock { $0.trailers })
        try await out.write(.end(nil, trailers: trailers))
    }
}
