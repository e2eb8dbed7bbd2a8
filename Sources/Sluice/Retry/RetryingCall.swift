import Synchronization
import SluiceProto

extension GRPCClient {
    /// A call with one request message (unary or server-streaming) under a retry policy
    /// (gRFC A6): the request is kept, and a failed attempt is retried after a jittered,
    /// growing backoff (or the server's pushback) until an attempt commits (response headers
    /// or a message arrive), succeeds, fails with a status the policy does not retry, or the
    /// attempts, the throttle's tokens or the deadline run out. The whole loop runs in the
    /// calling task: no task and no buffer beyond the request's bytes.
    func executeWithRetries<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>, _ context: ClientContext, policy: RetryPolicy,
        deadline: ContinuousClock.Instant?
    ) async throws -> StreamingClientResponse<Response> {
        let recorded = try await recordRequests(request)
        // Once the call commits (it returns), nothing is replayed: the bytes leave the budget.
        defer { retryBudget.release(recorded.reserved) }
        var machine = RetryStateMachine(policy: policy)
        let throttle = context.retryThrottle
        var attempt = 1
        while true {
            var extra: Metadata = [:]
            // gRFC A6: each retry tells the server how many attempts came before it.
            if attempt > 1 { extra.add("grpc-previous-rpc-attempts", "\(attempt - 1)") }
            let stream: ClientStream
            let outcome: CallEnd
            do {
                let (opened, _) = try await openAttempt(request.metadata, context, deadline: deadline,
                                                        extraMetadata: extra, Request.self)
                stream = opened
                await Self.replay(recorded, on: stream)
                // Wait for the server to begin answering, or for the attempt to end.
                _ = await stream.headers.value
                if stream.state.hasResponseStarted || recorded.overflowed {
                    Self.recordOutcome(of: stream, policy: policy, throttle: throttle)
                    return Self.response(to: stream, Response.self, attempts: attempt)
                }
                outcome = await stream.end.value
            } catch let error as RPCError {
                // No stream could be opened (no connection): an attempt that failed at once.
                outcome = CallEnd(error: error, trailers: [:])
                stream = Self.failedStream(error)
            }
            let code = outcome.error?.code ?? .ok
            let retryable = policy.retryableStatusCodes.contains(code)
            if code == .ok {
                throttle?.recordSuccess()
            }
            let throttleAllows = retryable ? (throttle?.recordFailure() ?? true) : true
            switch machine.attemptEnded(code: code, committed: false, pushback: Self.pushback(in: outcome.trailers),
                                        throttleAllows: throttleAllows,
                                        jitter: Double.random(in: 0..<1)) {
            case .stop:
                return Self.response(to: stream, Response.self, attempts: attempt)
            case .retry(let delay):
                try await Self.backOff(delay, deadline: deadline)
                attempt += 1
            }
        }
    }

    /// The request messages, serialized once, for every attempt to send.
    struct RecordedRequests: Sendable {
        var messages: [(bytes: [UInt8], compressed: Bool)] = []
        var bytes = 0
        /// Bytes taken from the client's ``RetryBufferBudget``, to give back when the call commits.
        var reserved = 0
        /// More than the per-call limit was produced, or the client's budget had no room: the
        /// call commits to its first attempt.
        var overflowed = false
        /// The producer failed: the error the call ends with.
        var failure: RPCError?
    }

    func recordRequests<Request: SluiceProto.Message>(_ request: StreamingClientRequest<Request>) async throws -> RecordedRequests {
        let box = RecordingBox(limit: retryBufferLimits.perCall, budget: retryBudget)
        do {
            try await request.producer(MessageWriter(compressible: { message, compressed in
                box.append(message.serializedBytes(), compressed: compressed)
            }))
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .unknown, message: "request producer failed: \(error)")
        }
        return box.recorded
    }

    static func replay(_ recorded: RecordedRequests, on stream: ClientStream) async {
        do {
            for message in recorded.messages {
                try await stream.state.sendRequest(message.bytes, compressed: message.compressed)
            }
            stream.requests.finish()
        } catch let error as RPCError {
            stream.cancel(error)
        } catch {
            // The attempt ended first; its status says why.
            stream.requests.finish()
        }
    }

    /// Throttle accounting for a committed attempt, once it ends.
    static func recordOutcome(of stream: ClientStream, policy: RetryPolicy, throttle: RetryThrottle?) {
        guard let throttle else { return }
        stream.end.whenSet { end in
            if let error = end.error {
                if policy.retryableStatusCodes.contains(error.code) { throttle.recordFailure() }
            } else {
                throttle.recordSuccess()
            }
        }
    }

    /// Waits out a backoff, within the call's deadline and cancellation.
    private static func backOff(_ delay: Duration, deadline: ContinuousClock.Instant?) async throws {
        let wake = ContinuousClock.now + delay
        if let deadline, wake >= deadline {
            try? await Task.sleep(until: deadline, clock: .continuous)
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded while waiting to retry")
        }
        do {
            try await Task.sleep(until: wake, clock: .continuous)
        } catch {
            throw RPCError(code: .cancelled, message: "the call was cancelled while waiting to retry")
        }
    }

    /// A stream that has already ended with `error`: the last attempt of a call whose stream
    /// could not be opened.
    static func failedStream(_ error: RPCError) -> ClientStream {
        let (writer, _) = makeRPCStream(of: SerializedMessage.self)
        let (stream, sink) = makeClientStream(requests: writer) { _ in }
        sink.receive(.end(error, trailers: error.metadata))
        return stream
    }
}

/// Collects what a request producer writes, serialized.
private final class RecordingBox: Sendable {
    private let state = Mutex(GRPCClient.RecordedRequests())
    private let limit: Int
    private let budget: RetryBufferBudget

    init(limit: Int, budget: RetryBufferBudget) {
        self.limit = limit
        self.budget = budget
    }

    func append(_ bytes: [UInt8], compressed: Bool) {
        state.withLock { recorded in
            recorded.bytes += bytes.count
            if recorded.bytes > limit {
                recorded.overflowed = true
            } else if !recorded.overflowed {
                if budget.reserve(bytes.count) { recorded.reserved += bytes.count } else { recorded.overflowed = true }
            }
            recorded.messages.append((bytes, compressed))
        }
    }

    var recorded: GRPCClient.RecordedRequests { state.withLock { $0 } }
}
