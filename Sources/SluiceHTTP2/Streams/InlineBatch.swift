/// A batch of items in order that keeps its first three inline: a unary call's batch (its
/// request, or response headers, message and status) passes from the call's task to its event
/// loop without allocating. Longer batches spill into an array, which
/// ``removeAll(keepingCapacity:)`` keeps for reuse, so a stream's batches stop allocating too.
struct InlineBatch<Element>: Sequence {
    private var first: Element?
    private var second: Element?
    private var third: Element?
    private var spill: [Element] = []
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    /// Room in the spill array, kept across ``removeAll(keepingCapacity:)``.
    var spillCapacity: Int { spill.capacity }

    mutating func append(_ element: Element) {
        switch count {
        case 0: first = element
        case 1: second = element
        case 2: third = element
        default: spill.append(element)
        }
        count += 1
    }

    /// Empties the batch, keeping the spill array's storage.
    mutating func removeAll(keepingCapacity: Bool = true) {
        first = nil
        second = nil
        third = nil
        spill.removeAll(keepingCapacity: keepingCapacity)
        count = 0
    }

    struct Iterator: IteratorProtocol {
        private let batch: InlineBatch
        private var index = 0

        fileprivate init(_ batch: InlineBatch) {
            self.batch = batch
        }

        mutating func next() -> Element? {
            guard index < batch.count else { return nil }
            defer { index += 1 }
            switch index {
            case 0: return batch.first
            case 1: return batch.second
            case 2: return batch.third
            default: return batch.spill[index - 3]
            }
        }
    }

    func makeIterator() -> Iterator {
        Iterator(self)
    }
}

extension InlineBatch: Sendable where Element: Sendable {}
