import Logging
import SluiceProto
import Synchronization

extension GRPCClient {
    /// A call with one request message under a hedging policy (gRFC A6): attempts go out
    /// `hedgingDelay` apart (at once after a non-fatal failure, or after the server's
    /// pushback), up to `maxAttempts`; the first to receive response headers wins and the
    /// others are cancelled; a status not listed as non-fatal ends the call at once. Each
    /// attempt carries `grpc-previous-rpc-attempts`.
    func executeWithHedging<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>, _ context: ClientContext, policy: HedgingPolicy,
        deadline: ContinuousClock.Instant?
    ) async throws -> StreamingClientResponse<Response> {
        let recorded = try await recordRequests(request, format: context.options.messageFormat ?? .protobuf)
        defer { retryBudget.release(recorded.reserved) }
        let throttle = context.retryThrottle
        return try await withThrowingTaskGroup(of: HedgingEvent.self) { group -> StreamingClientResponse<Response> in
            var launched = 0
            var inFlight = 0
            var lastFailure: ClientStream?
            var stopLaunching = false
            func launch() {
                let index = launched
                launched += 1
                inFlight += 1
                if index > 0 {
                    logger?.debug("hedging", metadata: [
                        LogKeys.method: "\(context.method.service)/\(context.method.method)", LogKeys.attempt: "\(index + 1)",
                    ])
                }
                group.addTask {
                    var extra: Metadata = [:]
                    if index > 0 { extra.add("grpc-previous-rpc-attempts", "\(index)") }
                    let stream: ClientStream
                    do {
                        stream = try await self.openAttempt(request.metadata, context, deadline: deadline,
                                                            extraMetadata: extra, attempt: index + 1,
                                                            kind: index > 0 ? .hedge : .original, Request.self).0
                    } catch let error as RPCError {
                        return .attempt(index: index, stream: Self.failedStream(error), end: CallEnd(error: error, trailers: [:]))
                    }
                    return await withTaskCancellationHandler {
                        await Self.replay(recorded, on: stream)
                        _ = await stream.headers.value
                        if stream.state.hasResponseStarted { return .attempt(index: index, stream: stream, end: nil) }
                        return .attempt(index: index, stream: stream, end: await stream.end.value)
                    } onCancel: {
                        // A losing hedge: reset it, so the server's handler sees the cancellation.
                        stream.cancel(RPCError(code: .cancelled, message: "another hedged attempt won"))
                    }
                }
            }
            func armTimer(_ delay: Duration) {
                group.addTask {
                    try await Task.sleep(for: delay)
                    return .timer
                }
            }
            launch()
            if policy.maxAttempts > 1 { armTimer(policy.hedgingDelay) }
            while let event = try await group.next() {
                switch event {
                case .timer:
                    guard !stopLaunching, launched < policy.maxAttempts, throttle?.allowsRetries ?? true else { continue }
                    launch()
                    if launched < policy.maxAttempts { armTimer(policy.hedgingDelay) }
                case .attempt(let index, let stream, let end):
                    inFlight -= 1
                    guard let end else {
                        // The winner: the others are cancelled as the group ends.
                        group.cancelAll()
                        return Self.response(to: stream, Response.self, attempts: index + 1)
                    }
                    guard let error = end.error else {
                        throttle?.recordSuccess()
                        group.cancelAll()
                        return Self.response(to: stream, Response.self, attempts: index + 1)
                    }
                    lastFailure = stream
                    let nonFatal = policy.nonFatalStatusCodes.contains(error.code)
                    if nonFatal { throttle?.recordFailure() }
                    guard nonFatal else {
                        group.cancelAll()
                        return Self.response(to: stream, Response.self, attempts: launched)
                    }
                    if case .string(let pushback)? = end.trailers["grpc-retry-pushback-ms"].first {
                        if let milliseconds = Int(pushback), milliseconds >= 0 {
                            armTimer(.milliseconds(milliseconds))
                        } else {
                            stopLaunching = true
                        }
                    } else if !stopLaunching, launched < policy.maxAttempts, throttle?.allowsRetries ?? true {
                        // A non-fatal failure sends the next hedge at once.
                        launch()
                    }
                    if inFlight == 0 && (stopLaunching || launched >= policy.maxAttempts || !(throttle?.allowsRetries ?? true)) {
                        group.cancelAll()
                        return Self.response(to: stream, Response.self, attempts: launched)
                    }
                }
            }
            // Only timers remained and none may launch: the last failure is the call's.
            if let lastFailure { return Self.response(to: lastFailure, Response.self, attempts: launched) }
            throw RPCError(code: .internal, message: "hedged call ended without an attempt")
        }
    }
}

/// What a hedged call's group reports.
enum HedgingEvent: Sendable {
    /// The hedging delay passed.
    case timer
    /// An attempt committed (headers or a message arrived) or ended: its stream, and the end
    /// when it ended first.
    case attempt(index: Int, stream: ClientStream, end: CallEnd?)
}
