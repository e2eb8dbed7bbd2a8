import Logging
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
        // The first attempt that opens runs the producer and keeps what it sends; later ones
        // send that again.
        var recorded: RequestRecording?
        // Once the call commits (it returns), nothing is replayed: the bytes leave the budget.
        defer { retryBudget.release(recorded?.reserved ?? 0) }
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
                let (opened, writer) = try await openAttempt(request.metadata, context, deadline: deadline, extraMetadata: extra,
                                                             attempt: attempt, kind: attempt > 1 ? .retry : .original,
                                                             Request.self)
                stream = opened
                if let recorded {
                    await Self.replay(recorded, on: stream)
                } else {
                    stream.state.startRecording(limit: retryBufferLimits.perCall, budget: retryBudget)
                    let produced = await Self.produce(request, into: writer, on: stream)
                    recorded = stream.state.takeRecording()
                    // A producer that failed ended the attempt with its error: nothing to retry.
                    guard produced else { return Self.response(to: stream, Response.self, attempts: attempt) }
                }
                // Wait for the server to begin answering, or for the attempt to end.
                _ = await stream.headers.value
                if stream.state.hasResponseStarted || recorded?.overflowed != false {
                    Self.recordOutcome(of: stream, policy: policy, throttle: throttle)
                    return Self.response(to: stream, Response.self, attempts: attempt)
                }
                outcome = await stream.end.value
            } catch let error as RPCError {
                // No stream could be opened (no connection): an attempt that failed at once.
                outcome = CallEnd(error: error, trailers: [:])
                stream = Self.failedStream(error)
            }
            switch Self.decide(after: outcome, &machine, policy: policy, throttle: throttle) {
            case .stop:
                return Self.response(to: stream, Response.self, attempts: attempt)
            case .retry(let delay):
                logRetry(context.method, attempt: attempt + 1, after: outcome, delay: delay)
                try await Self.backOff(delay, deadline: deadline)
                attempt += 1
            }
        }
    }

    /// An uncommitted attempt ended with `outcome`: counts it in the throttle and asks the
    /// state machine what follows. The one decision both retry loops make.
    static func decide(after outcome: CallEnd, _ machine: inout RetryStateMachine, policy: RetryPolicy,
                       throttle: RetryThrottle?) -> RetryStateMachine.Decision {
        let code = outcome.error?.code ?? .ok
        if code == .ok { throttle?.recordSuccess() }
        let throttleAllows = policy.retryableStatusCodes.contains(code) ? (throttle?.recordFailure() ?? true) : true
        return machine.attemptEnded(code: code, committed: false, pushback: pushback(in: outcome.trailers),
                                    throttleAllows: throttleAllows, jitter: Double.random(in: 0..<1))
    }

    /// Logs that attempt `attempt` of a call to `method` follows `outcome` after `delay`.
    func logRetry(_ method: MethodDescriptor, attempt: Int, after outcome: CallEnd, delay: Duration) {
        logger?.debug("retrying", metadata: [
            LogKeys.method: "\(method.service)/\(method.method)", LogKeys.attempt: "\(attempt)",
            LogKeys.status: "\(outcome.error?.code ?? .ok)", LogKeys.error: "\(outcome.error?.message ?? "")",
            LogKeys.delayMilliseconds: "\(delay.loggedMilliseconds)",
        ])
    }

    /// Runs the producer once, keeping what it writes, for attempts that all start from the
    /// recording (hedging).
    func recordRequests<Request: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>, format: MessageFormat
    ) async throws -> RequestRecording {
        let box = RecordingBox(RequestRecording(limit: retryBufferLimits.perCall, budget: retryBudget))
        do {
            try await request.produce(into: MessageWriter(compressible: { message, compressed in
                box.append(try format.serialize(message), compressed: compressed)
            }))
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .unknown, message: "request producer failed: \(error)")
        }
        return box.recorded
    }

    static func replay(_ recorded: RequestRecording, on stream: ClientStream) async {
        do {
            if let first = recorded.first {
                try await stream.state.sendRequest(first.bytes, compressed: first.compressed)
            }
            for message in recorded.rest {
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

/// Collects what a request producer writes, serialized, for a call whose attempts all start
/// from the recording (hedging).
private final class RecordingBox: Sendable {
    private let state: Mutex<RequestRecording>

    init(_ recording: RequestRecording) {
        self.state = Mutex(recording)
    }

    func append(_ bytes: [UInt8], compressed: Bool) {
        state.withLock { $0.append(bytes, compressed: compressed) }
    }

    var recorded: RequestRecording { state.withLock { $0 } }
}
