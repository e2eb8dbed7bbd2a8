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
            guard let task = server.accept(accepted) else {
                throw RPCError(code: .unavailable, message: "the in-process server is not serving")
            }
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
        private struct State {
            var handler: (@Sendable (ServerStream) async -> Void)?
            var running: [Int: Task<Void, Never>] = [:]
            var nextID = 0
            var shuttingDown = false
            var drained: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())

        init() {}

        func accept(_ stream: ServerStream) -> Task<Void, Never>? {
            state.withLock { state -> Task<Void, Never>? in
                guard let handler = state.handler, !state.shuttingDown else { return nil }
                let id = state.nextID
                state.nextID += 1
                let task = Task { [weak self] in
                    await handler(stream)
                    self?.finished(id)
                }
                state.running[id] = task
                return task
            }
        }

        private func finished(_ id: Int) {
            let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.running[id] = nil
                guard state.shuttingDown, state.running.isEmpty else { return nil }
                defer { state.drained = nil }
                return state.drained
            }
            resume?.resume()
        }

        public func listen(_ handle: @escaping @Sendable (ServerStream) async -> Void) async throws {
            state.withLock { $0.handler = handle }
            // Serve until shut down and drained.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state -> Bool in
                    if state.shuttingDown && state.running.isEmpty { return true }
                    state.drained = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        }

        public func beginGracefulShutdown() {
            let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.shuttingDown = true
                guard state.running.isEmpty else { return nil }
                defer { state.drained = nil }
                return state.drained
            }
            resume?.resume()
        }
    }
}
