@testable import SluiceHTTP2
import Testing
import NIOCore
import SluiceTestSupport

/// The outbox's machine with strings standing in for the waiting producer.
private typealias Machine = OutboxStateMachine<Int, String>

@Suite("Outbox state machine")
struct OutboxStateMachineTests {
    @Test("items wait for the stream to attach; attaching says whether to drain at once")
    func beforeAttach() {
        var machine = Machine(highWatermark: 4)
        let result1 = machine.append(1)
        #expect(result1 == .queued(scheduleDrain: false, mustWait: false))
        let result2 = machine.finish()
        #expect(result2 == false)
        let result3 = machine.attach()
        #expect(result3)
        var taken = InlineBatch<Int>()
        let drained = machine.take(into: &taken)
        #expect(Array(taken) == [1])
        #expect(drained.end)
        #expect(drained.wake.isEmpty)
    }

    @Test("attaching with nothing queued needs no drain")
    func attachEmpty() {
        var machine = Machine(highWatermark: 4)
        let result4 = machine.attach()
        #expect(result4 == false)
    }

    @Test("one drain is scheduled per batch, whatever the number of items")
    func oneDrainPerBatch() {
        var machine = Machine(highWatermark: 8)
        _ = machine.attach()
        let result5 = machine.append(1)
        #expect(result5 == .queued(scheduleDrain: true, mustWait: false))
        let result6 = machine.append(2)
        #expect(result6 == .queued(scheduleDrain: false, mustWait: false))
        let result7 = machine.finish()
        #expect(result7 == false, "the drain already scheduled writes the end too")
        var taken = InlineBatch<Int>()
        let result8 = machine.take(into: &taken)
        #expect(result8.end)
        #expect(Array(taken) == [1, 2])
        let result9 = machine.append(3)
        #expect(result9 == .fail, "nothing may follow the end")
    }

    @Test("the end is reported once")
    func endOnce() {
        var machine = Machine(highWatermark: 2)
        _ = machine.attach()
        _ = machine.finish()
        var taken = InlineBatch<Int>()
        let result10 = machine.take(into: &taken)
        #expect(result10.end)
        let result11 = machine.take(into: &taken)
        #expect(result11.end == false)
    }

    @Test("at the high watermark the producer waits until a drain takes the items")
    func watermark() {
        var machine = Machine(highWatermark: 2)
        _ = machine.attach()
        let result12 = machine.append(1)
        #expect(result12 == .queued(scheduleDrain: true, mustWait: false))
        let result13 = machine.append(2)
        #expect(result13 == .queued(scheduleDrain: false, mustWait: true))
        let result14 = machine.park("producer")
        #expect(result14 == .parked)
        var taken = InlineBatch<Int>()
        let drained = machine.take(into: &taken)
        #expect(Array(drained.wake) == ["producer"])
        #expect(Array(taken) == [1, 2])
    }

    @Test("room that appears before the producer parks lets it proceed: no lost wakeup")
    func roomBeforePark() {
        var machine = Machine(highWatermark: 1)
        _ = machine.attach()
        let result15 = machine.append(1)
        #expect(result15 == .queued(scheduleDrain: true, mustWait: true))
        var taken = InlineBatch<Int>()
        let result16 = machine.take(into: &taken)
        #expect(result16.wake.isEmpty, "nobody is parked yet")
        let result17 = machine.park("producer")
        #expect(result17 == .proceed)
    }

    @Test("an unwritable channel holds the producer back until it is writable again")
    func writability() {
        var machine = Machine(highWatermark: 16)
        _ = machine.attach()
        let result18 = machine.setWritable(false)
        #expect(result18.isEmpty)
        let result19 = machine.append(1)
        #expect(result19 == .queued(scheduleDrain: true, mustWait: true))
        let result20 = machine.park("producer")
        #expect(result20 == .parked)
        var taken = InlineBatch<Int>()
        let result21 = machine.take(into: &taken)
        #expect(result21.wake.isEmpty, "drained, but the channel is still full")
        let result22 = machine.setWritable(true)
        #expect(Array(result22) == ["producer"])
    }

    @Test("several producers may wait; room lets them all go on")
    func severalProducers() {
        var machine = Machine(highWatermark: 1)
        _ = machine.attach()
        _ = machine.append(1)
        _ = machine.append(2)
        let first = machine.park("first")
        let second = machine.park("second")
        #expect(first == .parked && second == .parked)
        var taken = InlineBatch<Int>()
        let drained = machine.take(into: &taken)
        #expect(Array(taken) == [1, 2])
        #expect(Array(drained.wake) == ["first", "second"])
    }

    @Test("closing drops what is queued and fails the producer, now and later")
    func close() {
        var machine = Machine(highWatermark: 1)
        _ = machine.attach()
        _ = machine.append(1)
        let result23 = machine.park("producer")
        #expect(result23 == .parked)
        let result24 = machine.close()
        #expect(Array(result24) == ["producer"])
        #expect(machine.items.isEmpty)
        let result25 = machine.append(2)
        #expect(result25 == .fail)
        let result26 = machine.park("again")
        #expect(result26 == .fail)
        let result27 = machine.finish()
        #expect(result27 == false)
    }

    @Test("taking swaps batches: past three items a batch spills into an array kept for reuse")
    func swapBuffers() {
        var machine = Machine(highWatermark: 8)
        _ = machine.attach()
        for i in 0..<5 { _ = machine.append(i) }
        var spare = InlineBatch<Int>()
        _ = machine.take(into: &spare)
        #expect(Array(spare) == [0, 1, 2, 3, 4])
        #expect(machine.items.isEmpty)
        spare.removeAll()
        #expect(spare.isEmpty)
        #expect(spare.spillCapacity >= 2)
    }

    @Test("a batch of up to three items stays inline, in order")
    func inlineBatch() {
        var batch = InlineBatch<String>()
        for item in ["a", "b", "c"] { batch.append(item) }
        #expect(Array(batch) == ["a", "b", "c"])
        #expect(batch.spillCapacity == 0)
        batch.append("d")
        #expect(Array(batch) == ["a", "b", "c", "d"])
        #expect(batch.count == 4)
    }
}

@Suite("DATA batching")
struct DataBatcherTests {
    private func framed(_ size: Int) -> ByteBuffer {
        MessageFramer.frame([UInt8](repeating: 7, count: size), compressed: false, allocator: ByteBufferAllocator())
    }

    @Test("small messages gather into one payload that deframes back into the same messages")
    func gathers() throws {
        var batch = DataBatcher()
        for size in [0, 1, 300, 17] {
            let cut = batch.add(framed(size))
            #expect(cut == nil)
        }
        let taken = batch.take()
        let payload = try #require(taken)
        #expect(payload.readableBytes == 4 * 5 + 318)
        let again = batch.take()
        #expect(again == nil)
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(payload)
        var sizes: [Int] = []
        while let message = try deframer.next() { sizes.append(message.bytes.readableBytes) }
        #expect(sizes == [0, 1, 300, 17])
    }

    @Test("a batch is cut before it would pass the limit")
    func limit() throws {
        var batch = DataBatcher()
        let big = MessageFramer.batchLimit - 100
        let first = batch.add(framed(big))
        #expect(first == nil)
        let cut = batch.add(framed(200))
        let full = try #require(cut, "adding 205 bytes would pass the limit")
        #expect(full.readableBytes == big + 5)
        let rest = batch.take()
        #expect(rest?.readableBytes == 205)
    }
}

@Suite("Outbox")
struct OutboxTests {
    private final class Handler: Sendable {}

    @Test("closing releases the drain scheduler, which holds the stream handler: no cycle")
    func closeBreaksCycle() {
        let outbox = Outbox<Int>()
        weak var weakHandler: Handler?
        do {
            let handler = Handler()
            weakHandler = handler
            _ = outbox.attach { withExtendedLifetime(handler) {} }
        }
        #expect(weakHandler != nil, "attached: the outbox keeps the handler")
        outbox.close()
        #expect(weakHandler == nil, "closed: the handler is free")
    }

    @Test("a drain is scheduled for the first item after attach and runs with the items")
    func schedulesDrain() async throws {
        let outbox = Outbox<Int>()
        let scheduled = Observed(0)
        _ = outbox.attach { scheduled.update { $0 += 1 } }
        try await outbox.send(1)
        try await outbox.send(2)
        #expect(scheduled.value == 1)
        var taken = InlineBatch<Int>()
        #expect(outbox.take(into: &taken) == false)
        #expect(Array(taken) == [1, 2])
        outbox.finish()
        #expect(scheduled.value == 2)
        taken.removeAll()
        #expect(outbox.take(into: &taken))
        outbox.close()
        await #expect(throws: CancellationError.self) { try await outbox.send(3) }
    }
}
