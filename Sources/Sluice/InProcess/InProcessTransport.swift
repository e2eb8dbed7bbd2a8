import Synchronization

/// A client and server transport connected in memory, for tests and for services that call
/// each other within one process. Calls behave as over HTTP/2: deadlines, cancellation,
/// metadata, trailers, backpressure; only bytes never reach a socket.
public enum InProcessTransport {
    /// A connected pair.
    public static func makePair() -> (client: Client, server: Server) {
        let server = Server()
        return (Client(server: server), server)
    }

    /// The client side.
    public struct Client: ClientTransport {
        let server: Server

        public func openStream(_ head: RequestHead) async throws -> ClientStream {
            let responses = makeRPCStream(of: ResponsePart.self)
            let handlerTask = OneShot<Task<Void, Never>>()
            // Nothing is compressed in memory, but each message carries the flag it would
            // have had on the wire: set if asked for and the call has an encoding.
            let requestsCompressed = head.compression.map { $0 != .identity } ?? false
            let requestPipe = makeRPCStream(of: SerializedMessage.self)
            let requestWriter = RPCWriter<SerializedMessage>(
                write: { try await requestPipe.writer.write(Self.wire($0, encoded: requestsCompressed)) },
                yield: { requestPipe.writer.yield(Self.wire($0, encoded: requestsCompressed)) },
                finish: { error in
                    if let error { requestPipe.writer.finish(throwing: error) } else { requestPipe.writer.finish() }
                })
            let requests = requestPipe.sequence
            let (stream, sink) = makeClientStream(requests: requestWriter) { _ in
                // RST_STREAM: the handler is cancelled and its writes fail.
                handlerTask.peek()?.cancel()
                responses.sequence.cancel()
            }
            var head = head
            // What an HTTP/2 client would announce, so handlers negotiate the same way.
            head.acceptEncoding = [CompressionAlgorithm.identity, .deflate, .gzip].map(\.name)
            let accepted = ServerStream(head: head, requests: requests, responses: responses.writer, peer: "in-process")
            // A call made before the server listens waits for it, as over a network it would
            // wait for the connection; the call's deadline and cancellation still apply.
            let task = try await server.accept(accepted)
            handlerTask.set(task)
            // Deliver the server's parts to the client side as they come.
            Task {
                var responsesCompressed = false
                do {
                    for try await part in responses.sequence {
                        switch part {
                        case .headers(_, let compression):
                            responsesCompressed = compression.map { $0 != .identity } ?? false
                            await sink.deliver(part)
                        case .message(let message):
                            await sink.deliver(.message(Self.wire(message, encoded: responsesCompressed)))
                        case .end:
                            await sink.deliver(part)
                        }
                    }
                } catch {}
                if !sink.hasEnded {
                    sink.receive(.end(RPCError(code: .unavailable, message: "the server ended the stream without a status"), trailers: [:]))
                }
            }
            return stream
        }

        public func close() async {}

        private static func wire(_ message: SerializedMessage, encoded: Bool) -> SerializedMessage {
            SerializedMessage(message.bytes, compressed: message.compressed && encoded)
        }
    }

    /// The server side.
    public final class Server: ServerTransport {
        private enum Phase {
            /// Not listening yet: calls wait, each under its id.
            case waiting([Int: CheckedContinuation<Void, any Error>])
            case serving(@Sendable (ServerStream) async -> Void)
            /// Shut down: no new calls, forever.
            case shutDown
        }

        private struct State {
            var phase = Phase.waiting([:])
            var running: [Int: Task<Void, Never>] = [:]
            var nextID = 0
            var drained: CheckedContinuation<Void, Never>?

            mutating func takeID() -> Int {
                defer { nextID += 1 }
                return nextID
            }
        }

        private let state = Mutex(State())

        init() {}

        /// Starts the handler of a call, waiting while the server has not started listening.
        func accept(_ stream: ServerStream) async throws -> Task<Void, Never> {
            while true {
                let started = try state.withLock { state -> Task<Void, Never>? in
                    switch state.phase {
                    case .serving(let handler):
                        let id = state.takeID()
                        let task = Task { [weak self] in
                            await handler(stream)
                            self?.finished(id)
                        }
                        state.running[id] = task
                        return task
                    case .shutDown:
                        throw RPCError(code: .unavailable, message: "the in-process server has shut down")
                    case .waiting:
                        return nil
                    }
                }
                if let started { return started }
                try await waitUntilListening(deadline: stream.head.deadline)
            }
        }

        /// Waits until ``listen(_:)`` starts, the server shuts down, the deadline passes or the
        /// task is cancelled.
        private func waitUntilListening(deadline: ContinuousClock.Instant?) async throws {
            guard let deadline else { return try await listening() }
            // Only calls made before the server listens come here, so the group costs nothing
            // on the usual path.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.listening() }
                group.addTask {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    throw RPCError(code: .deadlineExceeded,
                                   message: "deadline exceeded while waiting for the in-process server to listen")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }

        /// Returns once the server listens; throws UNAVAILABLE once it has shut down, and
        /// CANCELLED when the waiting task is cancelled.
        private func listening() async throws {
            let id = state.withLock { $0.takeID() }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let outcome = state.withLock { state -> Result<Void, any Error>? in
                        switch state.phase {
                        case .waiting(var waiters):
                            if Task.isCancelled {
                                return .failure(RPCError(code: .cancelled, message: "the calling task was cancelled"))
                            }
                            waiters[id] = continuation
                            state.phase = .waiting(waiters)
                            return nil
                        case .serving:
                            return .success(())
                        case .shutDown:
                            return .failure(RPCError(code: .unavailable, message: "the in-process server has shut down"))
                        }
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    guard case .waiting(var waiters) = state.phase, let waiter = waiters.removeValue(forKey: id) else { return nil }
                    state.phase = .waiting(waiters)
                    return waiter
                }
                waiter?.resume(throwing: RPCError(code: .cancelled, message: "the calling task was cancelled"))
            }
        }

        private func finished(_ id: Int) {
            let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.running[id] = nil
                guard case .shutDown = state.phase, state.running.isEmpty else { return nil }
                defer { state.drained = nil }
                return state.drained
            }
            resume?.resume()
        }

        public func listen(_ handle: @escaping @Sendable (ServerStream) async -> Void) async throws {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
                guard case .waiting(let waiters) = state.phase else { return [] }
                state.phase = .serving(handle)
                return Array(waiters.values)
            }
            for waiter in waiters { waiter.resume() }
            // Serve until shut down and drained.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state -> Bool in
                    if case .shutDown = state.phase, state.running.isEmpty { return true }
                    state.drained = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        }

        /// ``ListeningAddress/inProcess`` once ``listen(_:)`` has started.
        public var listeningAddress: ListeningAddress {
            get async throws {
                try await listening()
                return .inProcess
            }
        }

        public func beginGracefulShutdown() {
            shutDown(cancellingCalls: false)
        }

        public func shutdownNow() {
            shutDown(cancellingCalls: true)
        }

        private func shutDown(cancellingCalls: Bool) {
            let (waiters, running, resume) = state.withLock { state in
                var waiters: [CheckedContinuation<Void, any Error>] = []
                if case .waiting(let pending) = state.phase { waiters = Array(pending.values) }
                state.phase = .shutDown
                var resume: CheckedContinuation<Void, Never>?
                if state.running.isEmpty {
                    resume = state.drained
                    state.drained = nil
                }
                return (waiters, Array(state.running.values), resume)
            }
            for waiter in waiters {
                waiter.resume(throwing: RPCError(code: .unavailable, message: "the in-process server has shut down"))
            }
            // A cancelled handler's writes fail and its reads end, as when a client resets.
            if cancellingCalls { for task in running { task.cancel() } }
            resume?.resume()
        }
    }
}
