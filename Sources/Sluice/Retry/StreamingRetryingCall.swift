import Logging
import SluiceProto
import Synchronization

extension GRPCClient {
    /// A client- or bidirectional-streaming call under a retry policy (gRFC A6).
    ///
    /// The caller gets its response at once, before any attempt answered; its messages are
    /// read from the committed attempt's stream once there is one. Three tasks carry the call:
    /// the request producer, which writes into a ``ReplayLog``; the driver, which opens
    /// attempts and decides, as ``RetryStateMachine`` says, after each one that fails
    /// uncommitted; and a sender per attempt, which sends the log from its first request. Once
    /// an attempt commits (response headers or a message arrived, or the log passed its buffer
    /// limit) and its sender has caught up, the producer sends to it directly: past that
    /// point the call costs what a call without retries does.
    func executeStreamingWithRetries<Request: SluiceProto.Message, Response: SluiceProto.Message>(
        _ request: StreamingClientRequest<Request>, _ context: ClientContext, policy: RetryPolicy,
        deadline: ContinuousClock.Instant?
    ) -> StreamingClientResponse<Response> {
        let log = ReplayLog(limits: retryBufferLimits, budget: retryBudget)
        let control = RetryingCallControl()
        // The caller's stream: its headers, end, cancellation and decoding state. Its own
        // message pipe stays empty; messages are read from the committed attempt directly.
        let unused = RPCWriter<SerializedMessage>(write: { _ in }, yield: { _ in true }, finish: { _ in })
        let (proxy, sink) = makeClientStream(requests: unused) { error in
            control.cancel(error)
            log.abandon()
        }
        proxy.state.setReceiveLimit(context.options.maxResponseMessageBytes ?? MessageSizeLimits.defaultMaxReceive)
        let requestLimit = context.options.maxRequestMessageBytes ?? .max
        let format = context.options.messageFormat ?? .protobuf
        proxy.state.setMessageFormat(format)
        Task {
            do {
                try await request.produce(into: MessageWriter(compressible: { message, compressed in
                    let bytes = try format.serialize(message)
                    guard bytes.count <= requestLimit else {
                        throw RPCError(code: .resourceExhausted,
                                       message: "request message of \(bytes.count) bytes exceeds the \(requestLimit)-byte limit")
                    }
                    let message = SerializedMessage(bytes, compressed: compressed)
                    if try await log.append(message) { return }
                    // Handed over: the committed attempt takes requests straight from here.
                    guard let committed = control.committed else { throw CancellationError() }
                    try await committed.state.sendRequest(message.bytes, compressed: message.compressed)
                }))
                if log.finish(nil) { control.committed?.requests.finish() }
            } catch let error as RPCError {
                if log.finish(error) { control.committed?.cancel(error) }
            } catch is CancellationError {
                // The call ended first; its status says why.
                if log.finish(nil) { control.committed?.requests.finish() }
            } catch {
                let failure = RPCError(code: .unknown, message: "request producer failed: \(error)")
                if log.finish(failure) { control.committed?.cancel(failure) }
            }
        }
        Task {
            await driveAttempts(request.metadata, context, policy: policy, deadline: deadline, log: log, control: control,
                                sink: sink, Request.self)
        }
        let state = proxy.state
        var response = StreamingClientResponse(
            headers: proxy.headers, messages: CommittedAttemptMessages<Response>(committed: control.committedAttempt, observer: state),
            end: proxy.end, cancel: { state.fire(RPCError(code: .cancelled, message: "cancelled by the client")) })
        response.state = state
        response.committedAttempt = control.committedAttempt
        response.attemptCount = control.attempts
        return response
    }

    /// Opens attempts until one commits or the policy stops, then hands that one to the
    /// caller's stream.
    private func driveAttempts<Request: SluiceProto.Message>(
        _ metadata: Metadata, _ context: ClientContext, policy: RetryPolicy, deadline: ContinuousClock.Instant?,
        log: ReplayLog, control: RetryingCallControl, sink: ClientStreamSink, _ type: Request.Type
    ) async {
        var machine = RetryStateMachine(policy: policy)
        let throttle = context.retryThrottle
        var attempt = 1
        while true {
            var extra: Metadata = [:]
            if attempt > 1 { extra.add("grpc-previous-rpc-attempts", "\(attempt - 1)") }
            let stream: ClientStream
            let outcome: CallEnd
            do {
                stream = try await openAttempt(metadata, context, deadline: deadline, extraMetadata: extra, attempt: attempt,
                                               kind: attempt > 1 ? .retry : .original, Request.self).0
                guard control.begin(stream) else {
                    // Cancelled while the attempt opened (begin cancelled it): the call ends
                    // with it, which also wakes a reader waiting for the committed attempt.
                    Self.commit(stream, attempt: attempt, log: log, control: control, sink: sink)
                    return
                }
                Self.sendRequests(from: log, attempt: attempt, on: stream)
                // Wait for the server to begin answering, for the log to overflow, or for the end.
                let decided = OneShot<Void>()
                stream.headers.whenSet { _ in decided.set(()) }
                log.overflowed.whenSet { decided.set(()) }
                await decided.value
                if stream.state.hasResponseStarted || log.hasOverflowed {
                    Self.recordOutcome(of: stream, policy: policy, throttle: throttle)
                    Self.commit(stream, attempt: attempt, log: log, control: control, sink: sink)
                    return
                }
                outcome = await stream.end.value
            } catch let error as RPCError {
                outcome = CallEnd(error: error, trailers: [:])
                stream = Self.failedStream(error)
            } catch {
                outcome = CallEnd(error: RPCError(code: .unknown, message: "\(error)"), trailers: [:])
                stream = Self.failedStream(RPCError(code: .unknown, message: "\(error)"))
            }
            // A cancelled call, or a producer that failed, ends with this attempt's status.
            if control.isCancelled || log.producerFailure != nil {
                Self.commit(stream, attempt: attempt, log: log, control: control, sink: sink)
                return
            }
            switch Self.decide(after: outcome, &machine, policy: policy, throttle: throttle) {
            case .stop:
                Self.commit(stream, attempt: attempt, log: log, control: control, sink: sink)
                return
            case .retry(let delay):
                logRetry(context.method, attempt: attempt + 1, after: outcome, delay: delay)
                do {
                    try await Self.backOff(delay, deadline: deadline, cancelled: control)
                } catch {
                    let failure = error as? RPCError ?? RPCError(code: .cancelled, message: "the call was cancelled")
                    Self.commit(Self.failedStream(failure), attempt: attempt, log: log, control: control, sink: sink)
                    return
                }
                attempt += 1
            }
        }
    }

    /// Sends the log to one attempt, from its first request, until the requests end, the
    /// attempt ends, or another attempt commits.
    private static func sendRequests(from log: ReplayLog, attempt: Int, on stream: ClientStream) {
        Task {
            var index = 0
            while true {
                switch await log.read(attempt: attempt, index: index) {
                case .message(let message):
                    do {
                        try await stream.state.sendRequest(message.bytes, compressed: message.compressed)
                    } catch {
                        return  // the attempt ended; its status says why
                    }
                    index += 1
                case .finished:
                    stream.requests.finish()
                    return
                case .failed(let error):
                    stream.cancel(error)
                    return
                case .gone, .handedOver, .wait:
                    return
                }
            }
        }
    }

    /// The call commits to `stream`: its headers, messages and end become the caller's, with
    /// no task between: the caller reads the messages from the stream itself.
    private static func commit(_ stream: ClientStream, attempt: Int, log: ReplayLog, control: RetryingCallControl,
                               sink: ClientStreamSink) {
        // Known to the producer before the log can hand over to it.
        control.commit(to: stream, attempt: attempt)
        log.commit(to: attempt)
        stream.headers.whenSet { headers in
            // A Trailers-Only end sets empty headers too; the end that follows says the rest.
            if stream.state.hasResponseStarted { sink.receive(.headers(headers)) }
        }
        stream.end.whenSet { end in
            log.abandon()
            sink.receive(.end(end.error, trailers: end.trailers))
        }
    }

    /// The server's `grpc-retry-pushback-ms`, as text ("malformed" for a binary value).
    static func pushback(in trailers: Metadata) -> String? {
        trailers["grpc-retry-pushback-ms"].first.map { value -> String in
            if case .string(let text) = value { return text }
            return "malformed"
        }
    }

    /// Waits out a backoff, within the call's deadline, unless the call is cancelled meanwhile.
    private static func backOff(_ delay: Duration, deadline: ContinuousClock.Instant?,
                                cancelled control: RetryingCallControl) async throws {
        let wake = ContinuousClock.now + delay
        let until = deadline.map { min($0, wake) } ?? wake
        // The driver is a task of its own: the call's cancellation reaches it through `control`.
        try await control.sleep(until: until)
        if let deadline, wake >= deadline {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded while waiting to retry")
        }
    }
}

/// How many attempts a call has taken, for a response returned before its retries are over.
final class AttemptCount: Sendable {
    private let count = Atomic<Int>(1)

    var value: Int {
        get { count.load(ordering: .acquiring) }
        set { count.store(newValue, ordering: .releasing) }
    }
}

/// What the caller's cancel and a retried streaming call's driver share: the attempt in
/// flight, whether the call was cancelled, and how many attempts it took.
final class RetryingCallControl: Sendable {
    private struct State {
        var current: ClientStream?
        var cancelled: RPCError?
        var sleeper: CheckedContinuation<Void, Never>?
        var generation = 0
        var timerFired = false
    }

    private let state = Mutex(State())
    let attempts = AttemptCount()
    /// The attempt the call committed to, once it did (a failed stream when it ended without).
    let committedAttempt = OneShot<ClientStream>()

    /// The committed attempt, if the call has committed.
    var committed: ClientStream? { committedAttempt.peek() }

    /// The call commits to `stream`, its `attempt`-th.
    func commit(to stream: ClientStream, attempt: Int) {
        attempts.value = attempt
        committedAttempt.set(stream)
    }

    /// Records the attempt just opened; false (and the attempt cancelled) if the call was
    /// cancelled meanwhile.
    func begin(_ stream: ClientStream) -> Bool {
        let cancelled = state.withLock { state -> RPCError? in
            if state.cancelled == nil { state.current = stream }
            return state.cancelled
        }
        if let cancelled { stream.cancel(cancelled) }
        return cancelled == nil
    }

    var isCancelled: Bool { state.withLock { $0.cancelled != nil } }

    /// The caller cancelled: the attempt in flight is cancelled, a backoff ends, and no
    /// attempt follows.
    func cancel(_ error: RPCError) {
        let (current, sleeper) = state.withLock { state -> (ClientStream?, CheckedContinuation<Void, Never>?) in
            guard state.cancelled == nil else { return (nil, nil) }
            state.cancelled = error
            defer { state.sleeper = nil }
            return (state.current, state.sleeper)
        }
        current?.cancel(error)
        sleeper?.resume()
    }

    /// Sleeps until `instant`, or until the call is cancelled (then throws its error).
    func sleep(until instant: ContinuousClock.Instant) async throws {
        // Each sleep has a generation, so that a timer that fires late wakes no later sleep.
        let generation = state.withLock { state -> Int in
            state.generation += 1
            state.timerFired = false
            return state.generation
        }
        let timer = Task {
            try? await Task.sleep(until: instant, clock: .continuous)
            let sleeper = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.generation == generation else { return nil }
                state.timerFired = true
                defer { state.sleeper = nil }
                return state.sleeper
            }
            sleeper?.resume()
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.cancelled != nil || state.timerFired { return true }
                state.sleeper = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
        if let cancelled = state.withLock({ $0.cancelled }) { throw cancelled }
    }
}
