/// Puts jobs whose lease lapsed back in line, every `interval`: the reason a worker that dies
/// (or a stream that drops) loses nothing. Every server process runs one; on PostgreSQL they
/// share the work safely (each expired row is updated once).
public struct LeaseReaper: Sendable {
    /// The store reaped.
    public let store: any JobStore
    /// The pause between rounds.
    public var interval: Duration

    /// A reaper of `store`, every second unless told otherwise.
    public init(store: any JobStore, interval: Duration = .seconds(1)) {
        self.store = store
        self.interval = interval
    }

    /// Reaps until the task is cancelled; `onError` hears about a failed round (the next round
    /// tries again).
    public func run(onError: @Sendable (any Error) -> Void = { _ in }) async {
        while !Task.isCancelled {
            do {
                _ = try await store.reapExpiredLeases()
            } catch {
                if !Task.isCancelled { onError(error) }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
