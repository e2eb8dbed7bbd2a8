/// Request messages a retried call keeps, serialized, for later attempts to send again.
struct RequestRecording: Sendable {
    /// The first message inline (a unary or server-streaming call has just the one, and then
    /// recording allocates no array), the rest after it.
    var first: SerializedMessage?
    var rest: [SerializedMessage] = []
    var bytes = 0
    /// Bytes taken from the client's ``RetryBufferBudget``, to give back when the call commits.
    var reserved = 0
    /// More than the per-call limit was produced, or the client's budget had no room: the call
    /// commits to its first attempt.
    var overflowed = false
    let limit: Int
    let budget: RetryBufferBudget

    init(limit: Int, budget: RetryBufferBudget) {
        self.limit = limit
        self.budget = budget
    }

    /// Keeps a request: within the per-call limit and the budget, or past them marked
    /// overflowed (the call then commits to its attempt).
    mutating func append(_ bytes: [UInt8], compressed: Bool) {
        self.bytes += bytes.count
        if self.bytes > limit {
            overflowed = true
        } else if !overflowed {
            if budget.reserve(bytes.count) { reserved += bytes.count } else { overflowed = true }
        }
        let message = SerializedMessage(bytes, compressed: compressed)
        if first == nil { first = message } else { rest.append(message) }
    }
}
