@testable import Sluice
import Testing

/// A pipe of byte counts, weighed as themselves.
private typealias Weighed = MessagePipeStateMachine<Int, String, String>

@Suite("MessagePipe state machine: the byte limit")
struct MessagePipeByteLimitTests {
    @Test("the producer pauses once the buffered bytes reach the limit, whatever the count")
    func pausesOnBytes() {
        var machine = Weighed(highWatermark: 16, byteLimit: 100, weigh: { $0 })
        guard case .buffered(more: true) = machine.yield(60) else { Issue.record("first yield"); return }
        guard case .buffered(more: false) = machine.yield(60) else { Issue.record("over the byte limit"); return }
        #expect(machine.bufferedBytes == 120)
        #expect(machine.buffered == 2)
    }

    @Test("one element larger than the limit is still taken, and pauses the producer")
    func oversizedElementPasses() {
        var machine = Weighed(highWatermark: 16, byteLimit: 100, weigh: { $0 })
        guard case .buffered(more: false) = machine.yield(1_000) else { Issue.record("oversized yield"); return }
        guard case .element(1_000, nil, true) = machine.next() else { Issue.record("read it, then demand"); return }
        #expect(machine.bufferedBytes == 0)
    }

    @Test("demand returns only when both the count and the bytes are down to half")
    func demandNeedsHalfTheBytes() {
        var machine = Weighed(highWatermark: 16, byteLimit: 100, weigh: { $0 })
        for size in [40, 40, 40] { _ = machine.yield(size) }
        guard case .element(40, nil, false) = machine.next() else { Issue.record("80 bytes left: no demand"); return }
        guard case .element(40, nil, true) = machine.next() else { Issue.record("40 bytes left: demand"); return }
    }

    @Test("an async sender waits on bytes too, and is let in when they drain")
    func senderWaitsOnBytes() {
        var machine = Weighed(highWatermark: 16, byteLimit: 100, weigh: { $0 })
        guard case .buffered = machine.send(100) else { Issue.record("first send"); return }
        guard case .wait = machine.send(10) else { Issue.record("full by bytes: wait"); return }
        #expect(machine.park("sender") == .parked)
        guard case .element(100, "sender", _) = machine.next() else { Issue.record("reading wakes the sender"); return }
    }

    @Test("the consumer leaving drops the buffered bytes")
    func consumerLeaves() {
        var machine = Weighed(highWatermark: 16, byteLimit: 100, weigh: { $0 })
        _ = machine.yield(70)
        _ = machine.consumerDidLeave()
        #expect(machine.bufferedBytes == 0)
    }
}
