extension ReplayLog {
    /// The bookkeeping of a streaming call's request replay (gRFC A6), as a value: what the
    /// request producer appended, where each attempt's sender is, and when the call stops
    /// buffering. ``ReplayLog`` performs what it decides (wakes the waiting tasks, moves the
    /// channel-wide byte budget).
    ///
    /// Until the call commits, every request is kept, so that a new attempt can send them all
    /// again from the first, and the producer stays within `window` requests of the attempt
    /// furthest along (paced by the transport, as on a stream of its own; the buffer is bounded
    /// by the per-call limit, and crossing it commits the call). Once committed, only the committed attempt reads,
    /// what it has sent is dropped, and the producer waits until that sender has caught up and
    /// hands over: from then on the producer sends to the committed attempt directly, as on a
    /// call without retries.
    struct StateMachine {
        enum Phase: Equatable {
            /// Every request is kept for replay.
            case buffering
            /// The buffer limit was crossed with no attempt to commit to (between attempts):
            /// the next attempt to start commits.
            case overflowed
            /// Only `attempt` reads; what it has read is dropped.
            case committed(attempt: Int)
            /// The committed attempt's sender caught up and left: the producer sends to that
            /// attempt itself, with no task between them.
            case direct
            /// The call is over: nothing is kept, every reader and the writer are told.
            case abandoned
        }

        enum Ending: Equatable {
            case finished
            case failed(RPCError)
        }

        enum AppendResult: Equatable {
            /// Kept. `overflowed` when this request crossed the buffer limit: the call must
            /// commit. `bytesToRelease` go back to the channel's budget (all the buffered
            /// bytes, once buffering stops).
            case appended(overflowed: Bool, bytesToRelease: Int)
            /// The committed attempt is `window` requests behind: wait, then append again.
            case wait
            /// Not kept: send it to the committed attempt directly.
            case sendDirectly
            /// The call is over (or the requests already ended): drop the request.
            case refused
        }

        enum ReadResult: Equatable {
            case message(SerializedMessage)
            /// No more requests: half-close.
            case finished
            /// The producer failed: end the attempt with this.
            case failed(RPCError)
            /// Nothing yet at this index: wait for an append.
            case wait
            /// This attempt no longer reads (another committed, or the call is over).
            case gone
            /// Everything is sent and the call committed to this attempt: the producer sends
            /// from now on; the sender stops.
            case handedOver
        }

        let perCallLimit: Int
        let window: Int
        private(set) var phase = Phase.buffering
        /// The requests from `firstIndex` on.
        private var entries: [SerializedMessage] = []
        private var firstIndex = 0
        private(set) var ending: Ending?
        /// How many requests the attempt furthest along has taken: while buffering, the
        /// producer stays within `window` of it, as it would on a stream of its own.
        private var furthestRead = 0
        /// Bytes held while buffering, counted against the per-call and channel limits.
        private(set) var bufferedBytes = 0

        init(perCallLimit: Int, window: Int = 16) {
            self.perCallLimit = perCallLimit
            self.window = window
        }

        /// Requests kept now.
        var count: Int { entries.count }

        /// Appends a request. `budgetGranted` says whether the channel's budget had room for
        /// its bytes (asked only while buffering; a refusal overflows like the per-call limit).
        mutating func append(_ message: SerializedMessage, budgetGranted: Bool) -> AppendResult {
            guard ending == nil else { return .refused }
            switch phase {
            case .abandoned:
                return .refused
            case .direct:
                return .sendDirectly
            case .buffering:
                guard entries.count - furthestRead < window else { return .wait }
                entries.append(message)
                bufferedBytes += message.bytes.count
                guard budgetGranted, bufferedBytes <= perCallLimit else {
                    // Past a limit: stop buffering. What is kept stays until an attempt sends it.
                    phase = .overflowed
                    let release = bufferedBytes - (budgetGranted ? 0 : message.bytes.count)
                    bufferedBytes = 0
                    return .appended(overflowed: true, bytesToRelease: release)
                }
                return .appended(overflowed: false, bytesToRelease: 0)
            case .overflowed:
                guard entries.count < window else { return .wait }
                entries.append(message)
                return .appended(overflowed: false, bytesToRelease: 0)
            case .committed:
                // The producer waits for the sender to send what is kept and hand over: a
                // producer that kept refilling the log would keep a task between it and the
                // stream for the rest of the call.
                return .wait
            }
        }

        /// The requests ended, normally or with the producer's error. Returns true when the
        /// producer must end the committed attempt's requests itself (phase `direct`).
        mutating func finish(_ ending: Ending) -> Bool {
            guard self.ending == nil, phase != .abandoned else { return false }
            self.ending = ending
            return phase == .direct
        }

        /// The request at `index` for `attempt`'s sender.
        mutating func read(attempt: Int, index: Int) -> ReadResult {
            switch phase {
            case .abandoned, .direct:
                return .gone
            case .committed(let committed) where committed != attempt:
                return .gone
            case .committed:
                // What the committed attempt has moved past is sent (its sender reads the next
                // request only after sending the last): drop it.
                if index > firstIndex {
                    entries.removeFirst(min(index - firstIndex, entries.count))
                    firstIndex = index
                }
                if entries.isEmpty && ending == nil {
                    phase = .direct
                    return .handedOver
                }
            case .buffering, .overflowed:
                break
            }
            guard index >= firstIndex else { return .gone }
            furthestRead = max(furthestRead, index)
            if index - firstIndex < entries.count { return .message(entries[index - firstIndex]) }
            switch ending {
            case .finished: return .finished
            case .failed(let error): return .failed(error)
            case nil: return .wait
            }
        }

        /// The call commits to `attempt`: no more buffering. Returns the bytes to give back to
        /// the channel's budget.
        mutating func commit(to attempt: Int) -> Int {
            switch phase {
            case .abandoned, .committed, .direct:
                return 0
            case .buffering, .overflowed:
                phase = .committed(attempt: attempt)
                defer { bufferedBytes = 0 }
                return bufferedBytes
            }
        }

        /// The call is over: drop everything. Returns the bytes to give back to the budget.
        mutating func abandon() -> Int {
            guard phase != .abandoned else { return 0 }
            phase = .abandoned
            entries.removeAll()
            defer { bufferedBytes = 0 }
            return bufferedBytes
        }

        /// Whether the writer, waiting in ``append(_:budgetGranted:)``, may try again.
        var writerMayAppend: Bool {
            switch phase {
            case .abandoned, .direct: return true
            case .buffering: return entries.count - furthestRead < window || ending != nil
            case .overflowed: return entries.count < window || ending != nil
            case .committed: return ending != nil
            }
        }
    }
}
