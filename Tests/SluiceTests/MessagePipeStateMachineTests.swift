@testable import Sluice
import SluiceTestSupport
import Testing

/// The pipe's machine with plain values standing in for continuations.
typealias Machine = MessagePipeStateMachine<Int, String, String>

@Suite("MessagePipe state machine")
struct MessagePipeStateMachineTests {
    @Test("yield buffers until the high watermark, then tells the producer to pause")
    func watermark() {
        var machine = Machine(highWatermark: 2)
        guard case .buffered(more: true) = machine.yield(1) else { Issue.record("first yield"); return }
        guard case .buffered(more: false) = machine.yield(2) else { Issue.record("second yield"); return }
        #expect(machine.buffered == 2)
    }

    @Test("reading down to half the watermark after a pause signals demand once")
    func demand() {
        var machine = Machine(highWatermark: 4)
        for i in 0..<4 { _ = machine.yield(i) }
        guard case .element(0, nil, false) = machine.next() else { Issue.record("first read"); return }
        guard case .element(1, nil, true) = machine.next() else { Issue.record("two left: demand"); return }
        guard case .element(2, nil, false) = machine.next() else { Issue.record("demand is signalled once"); return }
        guard case .element(3, nil, false) = machine.next() else { Issue.record("fourth read"); return }
        guard case .wait = machine.next() else { Issue.record("empty pipe waits"); return }
    }

    @Test("elements come out in order whether they sit in the front slot or the array behind it")
    func order() {
        var machine = Machine(highWatermark: 8)
        for i in 0..<3 { _ = machine.yield(i) }
        guard case .element(0, _, _) = machine.next() else { Issue.record("0"); return }
        _ = machine.yield(3)
        for expected in 1...3 {
            guard case .element(let element, _, _) = machine.next(), element == expected else {
                Issue.record("expected \(expected)"); return
            }
        }
        _ = machine.yield(4)
        guard case .element(4, _, _) = machine.next() else { Issue.record("4"); return }
        guard case .wait = machine.next() else { Issue.record("empty"); return }
    }

    @Test("the last element and the end together: a consumer woken for it finds the end without waiting")
    func yieldLast() {
        var machine = Machine(highWatermark: 2)
        guard case .wait = machine.next() else { Issue.record("wait"); return }
        let parked = machine.park(consumer: "reader")
        #expect(parked)
        guard case .resumeConsumer("reader", 9) = machine.yieldLast(9, then: .finished) else {
            Issue.record("hand-off"); return
        }
        guard case .end(.finished) = machine.next() else { Issue.record("ended at once"); return }
        // With nobody waiting, the element is buffered ahead of the end.
        var buffered = Machine(highWatermark: 2)
        guard case .buffered = buffered.yieldLast(5, then: .finished) else { Issue.record("buffered"); return }
        guard case .element(5, _, _) = buffered.next() else { Issue.record("element first"); return }
        guard case .end(.finished) = buffered.next() else { Issue.record("then the end"); return }
        guard case .dropped = buffered.yieldLast(6, then: .finished) else { Issue.record("after the end"); return }
    }

    @Test("a parked consumer receives the next element directly")
    func directHandOff() {
        var machine = Machine(highWatermark: 2)
        guard case .wait = machine.next() else { Issue.record("wait"); return }
        let consumerParked = machine.park(consumer: "reader")
        #expect(consumerParked)
        guard case .resumeConsumer("reader", 7) = machine.yield(7) else { Issue.record("hand-off"); return }
        #expect(machine.buffered == 0)
    }

    @Test("async producers wait when full and are let in as the consumer reads")
    func asyncProducers() {
        var machine = Machine(highWatermark: 1)
        guard case .buffered = machine.send(1) else { Issue.record("send"); return }
        guard case .wait = machine.send(2) else { Issue.record("full"); return }
        #expect(machine.park("producer") == .parked)
        guard case .element(1, "producer", _) = machine.next() else { Issue.record("wake producer"); return }
    }

    @Test("a producer told to wait retries instead of parking if the consumer drained meanwhile")
    func noLostWakeup() {
        var machine = Machine(highWatermark: 1)
        guard case .buffered = machine.send(1) else { Issue.record("send"); return }
        guard case .wait = machine.send(2) else { Issue.record("full"); return }
        // Before the producer parks, the consumer takes the element and waits for more.
        guard case .element(1, nil, _) = machine.next() else { Issue.record("read"); return }
        guard case .wait = machine.next() else { Issue.record("empty"); return }
        let consumerParked = machine.park(consumer: "reader")
        #expect(consumerParked)
        // Parking now would leave both sides waiting for each other.
        #expect(machine.park("producer") == .retry)
        guard case .resumeConsumer("reader", 2) = machine.send(2) else { Issue.record("retry delivers"); return }
    }

    @Test("finish delivers the buffer first, then the end; later yields are dropped")
    func finishAfterBuffer() {
        var machine = Machine(highWatermark: 4)
        _ = machine.yield(1)
        guard case .none = machine.finish(.finished) else { Issue.record("finish with buffer"); return }
        guard case .dropped = machine.yield(2) else { Issue.record("yield after finish"); return }
        guard case .element(1, _, _) = machine.next() else { Issue.record("buffer first"); return }
        guard case .end(.finished) = machine.next() else { Issue.record("then the end"); return }
    }

    @Test("finish wakes a parked consumer; a second finish changes nothing")
    func finishWakes() {
        var machine = Machine(highWatermark: 4)
        _ = machine.park(consumer: "reader")
        guard case .resumeConsumer("reader", .finished) = machine.finish(.finished) else { Issue.record("wake"); return }
        guard case .none = machine.finish(.finished) else { Issue.record("idempotent"); return }
    }

    @Test("a consumer that leaves drops the buffer, fails producers and is reported once")
    func consumerLeaves() {
        var machine = Machine(highWatermark: 1)
        _ = machine.send(1)
        #expect(machine.park("producer") == .parked)
        guard case .notify(nil, ["producer"]) = machine.consumerDidLeave() else { Issue.record("notify"); return }
        guard case .none = machine.consumerDidLeave() else { Issue.record("once"); return }
        #expect(machine.buffered == 0)
        guard case .dropped = machine.yield(2) else { Issue.record("yield after leave"); return }
        guard case .fail = machine.send(3) else { Issue.record("send after leave"); return }
        guard case .gone = machine.next() else { Issue.record("next after leave"); return }
        #expect(machine.park("late producer") == .fail)
        let lateConsumerParked = machine.park(consumer: "late reader")
        #expect(!lateConsumerParked)
    }
}
