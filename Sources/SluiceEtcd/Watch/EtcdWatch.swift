import Foundation
import Logging
import Sluice

/// What one response of a watch delivers: events of one or more revisions, in order.
public struct EtcdWatchBatch: Sendable {
    /// The events, oldest first; never empty.
    public var events: [Mvccpb_Event]
    /// The store's revision when etcd sent them.
    public var headerRevision: Int64
}

extension EtcdClient {
    /// Every change to the keys starting with `prefix` (or to the key `prefix` alone, with
    /// `isPrefix: false`), from `revision` on (0: from now), as batches of events.
    ///
    /// The watch lasts until the reader stops. When its stream breaks (a member restarting,
    /// the network) it reconnects with backoff and resumes from the first revision it has not
    /// delivered (`WatchResumeStateMachine`): no event is missed or repeated. If the revision
    /// it needs has been compacted away, the sequence throws ``EtcdError/compacted(oldestRevision:)``:
    /// read the keys again (``get(prefix:revision:)``) and watch from the revision read, plus one.
    public func watch(_ prefix: String, isPrefix: Bool = true, from revision: Int64 = 0) -> AsyncThrowingStream<EtcdWatchBatch, any Error> {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(prefix.utf8)
        if isPrefix { create.rangeEnd = Self.rangeEnd(ofPrefix: Data(prefix.utf8)) }
        create.progressNotify = true
        let (stream, continuation) = AsyncThrowingStream<EtcdWatchBatch, any Error>.makeStream(bufferingPolicy: .unbounded)
        let watching = Task {
            var resume = WatchResumeStateMachine(from: revision)
            var delay = RetryDelay(minimum: configuration.minimumRetryDelay, maximum: configuration.maximumRetryDelay)
            while !Task.isCancelled {
                do {
                    try await watchSession(create, resume: &resume, delay: &delay, continuation: continuation)
                } catch let error as EtcdError {
                    continuation.finish(throwing: error)
                    return
                } catch {
                    if Task.isCancelled { break }
                    logger?.debug("etcd watch stream failed; resuming", metadata: [
                        "prefix": "\(prefix)", "revision": "\(resume.nextRevision)", "error": "\(error)",
                    ])
                    if let rpc = error as? RPCError, rpc.code == .unauthenticated { auth?.invalidateToken() }
                }
                try? await Task.sleep(for: delay.next())
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in watching.cancel() }
        return stream
    }

    /// One Watch stream, until it breaks. Throws ``EtcdError`` for what reconnecting cannot
    /// fix.
    private func watchSession(_ template: Etcdserverpb_WatchCreateRequest, resume: inout WatchResumeStateMachine,
                              delay: inout RetryDelay,
                              continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) async throws {
        let call = try await watchService.watch(metadata: [:], options: CallOptions())
        defer { call.requests.finish() }
        var create = template
        create.startRevision = resume.nextRevision
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .createRequest(create)
        try await call.requests.send(request)
        for try await response in call.responses {
            if response.compactRevision > 0 {
                throw EtcdError.compacted(oldestRevision: response.compactRevision)
            }
            if response.canceled {
                throw RPCError(code: .unavailable, message: "etcd cancelled the watch: \(response.cancelReason)")
            }
            if response.created {
                delay.reset()
                resume.created(headerRevision: response.header.revision)
            }
            if response.events.isEmpty {
                if !response.created { resume.progressed(to: response.header.revision) }
                continue
            }
            let fresh = resume.deliver(response.events)
            if !fresh.isEmpty {
                continuation.yield(EtcdWatchBatch(events: fresh, headerRevision: response.header.revision))
            }
        }
        throw RPCError(code: .unavailable, message: "etcd ended the watch stream")
    }
}
