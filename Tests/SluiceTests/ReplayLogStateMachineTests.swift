@testable import Sluice
import Testing

private func message(_ byte: UInt8, size: Int = 10) -> SerializedMessage {
    SerializedMessage([UInt8](repeating: byte, count: size), compressed: false)
}

@Suite("Request replay for retried streaming calls (gRFC A6 buffering)")
struct ReplayLogStateMachineTests {
    typealias Machine = ReplayLog.StateMachine

    @Test("buffering: every attempt reads from the first request; the end follows the last")
    func buffering() {
        var machine = Machine(perCallLimit: 100)
        #expect(machine.append(message(1), budgetGranted: true) == .appended(overflowed: false, bytesToRelease: 0))
        #expect(machine.append(message(2), budgetGranted: true) == .appended(overflowed: false, bytesToRelease: 0))
        #expect(machine.bufferedBytes == 20)
        #expect(machine.read(attempt: 1, index: 0) == .message(message(1)))
        #expect(machine.read(attempt: 1, index: 2) == .wait)
        // A second attempt starts over, and nothing was dropped for the first one's reads.
        #expect(machine.read(attempt: 2, index: 0) == .message(message(1)))
        #expect(machine.read(attempt: 2, index: 1) == .message(message(2)))
        let handedOver = machine.finish(.finished)
        #expect(!handedOver)
        #expect(machine.read(attempt: 2, index: 2) == .finished)
        #expect(machine.append(message(3), budgetGranted: true) == .refused)
    }

    @Test("while buffering the producer stays within the window of the attempt furthest along, and everything is kept")
    func producerPacedWhileBuffering() {
        var machine = Machine(perCallLimit: 10_000, window: 2)
        #expect(machine.append(message(0), budgetGranted: true) == .appended(overflowed: false, bytesToRelease: 0))
        #expect(machine.append(message(1), budgetGranted: true) == .appended(overflowed: false, bytesToRelease: 0))
        #expect(machine.append(message(2), budgetGranted: true) == .wait)
        #expect(!machine.writerMayAppend)
        // An attempt takes the first two (it asks for index 2 after sending 0 and 1).
        #expect(machine.read(attempt: 1, index: 0) == .message(message(0)))
        #expect(machine.read(attempt: 1, index: 2) == .wait)
        #expect(machine.writerMayAppend)
        #expect(machine.append(message(2), budgetGranted: true) == .appended(overflowed: false, bytesToRelease: 0))
        // A second attempt still finds every request from the first.
        #expect(machine.read(attempt: 2, index: 0) == .message(message(0)))
        #expect(machine.count == 3)
    }

    @Test("crossing the per-call limit overflows once and gives back what was buffered")
    func perCallOverflow() {
        var machine = Machine(perCallLimit: 25, window: 3)
        _ = machine.append(message(1), budgetGranted: true)
        _ = machine.append(message(2), budgetGranted: true)
        #expect(machine.append(message(3), budgetGranted: true) == .appended(overflowed: true, bytesToRelease: 30))
        #expect(machine.phase == .overflowed)
        #expect(machine.bufferedBytes == 0)
        // Kept until an attempt sends them, but the producer now waits at the window.
        #expect(machine.append(message(4), budgetGranted: true) == .wait)
        #expect(machine.read(attempt: 1, index: 2) == .message(message(3)))
    }

    @Test("a budget refusal overflows like the per-call limit, without giving back the refused bytes")
    func budgetOverflow() {
        var machine = Machine(perCallLimit: 1000)
        _ = machine.append(message(1), budgetGranted: true)
        #expect(machine.append(message(2), budgetGranted: false) == .appended(overflowed: true, bytesToRelease: 10))
        #expect(machine.phase == .overflowed)
    }

    @Test("committed: other attempts are gone, what was sent is dropped, the producer waits for the hand-over")
    func committed() {
        var machine = Machine(perCallLimit: 1000, window: 3)
        _ = machine.append(message(1), budgetGranted: true)
        _ = machine.append(message(2), budgetGranted: true)
        _ = machine.append(message(3), budgetGranted: true)
        #expect(machine.commit(to: 2) == 30)
        #expect(machine.commit(to: 3) == 0)
        #expect(machine.read(attempt: 1, index: 0) == .gone)
        #expect(machine.append(message(4), budgetGranted: true) == .wait)
        #expect(!machine.writerMayAppend)
        #expect(machine.read(attempt: 2, index: 0) == .message(message(1)))
        // Reading index 2 means 0 and 1 went out.
        #expect(machine.read(attempt: 2, index: 2) == .message(message(3)))
        #expect(machine.count == 1)
        // Still one to send: the producer waits for the hand-over.
        #expect(!machine.writerMayAppend)
        #expect(machine.append(message(4), budgetGranted: true) == .wait)
        #expect(machine.read(attempt: 2, index: 3) == .handedOver)
        #expect(machine.writerMayAppend)
        #expect(machine.append(message(4), budgetGranted: true) == .sendDirectly)
    }

    @Test("once the committed sender has caught up it hands over: the producer sends directly, and ends the requests itself")
    func handOver() {
        var machine = Machine(perCallLimit: 1000)
        _ = machine.append(message(1), budgetGranted: true)
        _ = machine.commit(to: 1)
        #expect(machine.read(attempt: 1, index: 0) == .message(message(1)))
        // Reading past the last request, with the requests not ended: hand over.
        #expect(machine.read(attempt: 1, index: 1) == .handedOver)
        #expect(machine.phase == .direct)
        #expect(machine.count == 0)
        #expect(machine.append(message(2), budgetGranted: true) == .sendDirectly)
        #expect(machine.read(attempt: 1, index: 1) == .gone)
        let handedOver = machine.finish(.finished)
        #expect(handedOver)
    }

    @Test("a committed sender that reaches the end of ended requests finishes instead of handing over")
    func endedBeforeHandOver() {
        var machine = Machine(perCallLimit: 1000)
        _ = machine.append(message(1), budgetGranted: true)
        let handedOver = machine.finish(.finished)
        #expect(!handedOver)
        _ = machine.commit(to: 1)
        #expect(machine.read(attempt: 1, index: 1) == .finished)
        #expect(machine.phase == .committed(attempt: 1))
    }

    @Test("a producer failure reaches the attempt that reads past the last request")
    func producerFailure() {
        var machine = Machine(perCallLimit: 1000)
        _ = machine.append(message(1), budgetGranted: true)
        let error = RPCError(code: .resourceExhausted, message: "too big")
        let handedOver = machine.finish(.failed(error))
        #expect(!handedOver)
        #expect(machine.read(attempt: 1, index: 0) == .message(message(1)))
        #expect(machine.read(attempt: 1, index: 1) == .failed(error))
        // The first ending stands.
        let endedAgain = machine.finish(.finished)
        #expect(!endedAgain)
        #expect(machine.read(attempt: 1, index: 1) == .failed(error))
    }

    @Test("abandoned: everything dropped, readers gone, the producer refused, the budget given back once")
    func abandoned() {
        var machine = Machine(perCallLimit: 1000)
        _ = machine.append(message(1), budgetGranted: true)
        #expect(machine.abandon() == 10)
        #expect(machine.abandon() == 0)
        #expect(machine.read(attempt: 1, index: 0) == .gone)
        #expect(machine.append(message(2), budgetGranted: true) == .refused)
        #expect(machine.writerMayAppend)
    }
}
