/// Where a watch resumes after its stream breaks, so that a reconnect neither misses nor
/// repeats an event.
///
/// etcd numbers every change with the store's revision, and a watch created with
/// `start_revision` R sends every event from R on. The machine keeps the next revision the
/// reader has not seen: one past the last event delivered, or past a progress notification's
/// revision (every event up to it has been sent). Events below it (a member sending what the
/// reader already has) are dropped.
struct WatchResumeStateMachine: Sendable, Equatable {
    /// The first revision not yet delivered; 0 until known ("from now").
    private(set) var nextRevision: Int64

    /// A watch from `revision` (0: from whatever the store's revision is when it is created).
    init(from revision: Int64) {
        nextRevision = max(0, revision)
    }

    /// etcd created the watch at store revision `headerRevision`: a watch "from now" has seen
    /// everything up to it.
    mutating func created(headerRevision: Int64) {
        if nextRevision == 0 { nextRevision = headerRevision + 1 }
    }

    /// A batch of events arrived: returns those to deliver, and moves past the last.
    mutating func deliver(_ events: [Mvccpb_Event]) -> [Mvccpb_Event] {
        let fresh = events.filter { $0.kv.modRevision >= nextRevision }
        if let last = fresh.last { nextRevision = last.kv.modRevision + 1 }
        return fresh
    }

    /// A response without events: a progress notification says every event up to
    /// `headerRevision` has been sent.
    mutating func progressed(to headerRevision: Int64) {
        guard nextRevision != 0 else { return }
        nextRevision = max(nextRevision, headerRevision + 1)
    }
}
