import Logging
import Sluice

extension EtcdElection {
    /// Campaigns as `value` until the calling task is cancelled, and runs `work` during each
    /// leadership: when this node becomes leader `work` starts, and when the leadership is
    /// lost (``Leadership/waitUntilLost()``) `work` is cancelled, before another campaigner can
    /// lead; then the node campaigns again. If `work` returns or throws by itself, the node
    /// resigns and campaigns again after a pause. Cancelling the caller resigns.
    ///
    ///     await election.leading(as: nodeID) { leadership in
    ///         await reaper.run()   // runs on one node of the cluster at a time
    ///     }
    ///
    /// A failed campaign (etcd away, the lease lost while waiting) is retried with the
    /// client's retry delays.
    ///
    /// - Parameter onChange: Told each leadership as it starts (`true`) and ends (`false`).
    public func leading(as value: String, onChange: @escaping @Sendable (ElectionLeader, Bool) -> Void = { _, _ in },
                        _ work: @escaping @Sendable (Leadership) async throws -> Void) async {
        var delay = RetryDelay(minimum: client.configuration.minimumRetryDelay, maximum: client.configuration.maximumRetryDelay)
        while !Task.isCancelled {
            let leadership: Leadership
            do {
                leadership = try await campaign(value: value)
                delay.reset()
            } catch {
                if Task.isCancelled { return }
                client.logger?.warning("etcd campaign failed; trying again",
                                       metadata: ["election": "\(name)", "error": "\(error)"])
                try? await Task.sleep(for: delay.next())
                continue
            }
            onChange(leadership.leader, true)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await work(leadership)
                    } catch where !(error is CancellationError) {
                        leadership.election.client.logger?.warning(
                            "leader work failed; resigning", metadata: ["election": "\(leadership.election.name)", "error": "\(error)"])
                    } catch {}
                }
                group.addTask { await leadership.waitUntilLost() }
                // Whichever ends first (the work, the leadership, or this task's cancellation,
                // which cancels both) ends the other.
                await group.next()
                group.cancelAll()
            }
            if leadership.isLeader {
                // Resigned in a task of its own: this task may be cancelled, and the resignation
                // must still reach etcd so the next campaigner leads at once.
                await Task { try? await leadership.resign() }.value
            }
            onChange(leadership.leader, false)
            if !Task.isCancelled { try? await Task.sleep(for: delay.next()) }
        }
    }
}
