import NIOCore
@testable import SluiceHTTP2
import Testing

@Suite("Outbox state machine: the byte limit")
struct OutboxByteLimitTests {
    @Test("the producer must wait once the queued bytes reach the limit, and goes on after a drain")
    func waitsOnBytes() {
        var machine = OutboxStateMachine<Int, String>(highWatermark: 16, byteLimit: 1_000)
        _ = machine.attach()
        #expect(machine.append(1, bytes: 600) == .queued(scheduleDrain: true, mustWait: false))
        #expect(machine.append(2, bytes: 600) == .queued(scheduleDrain: false, mustWait: true))
        #expect(machine.park("producer") == .parked)
        var taken = InlineBatch<Int>()
        let drained = machine.take(into: &taken)
        #expect(Array(taken) == [1, 2])
        #expect(Array(drained.wake) == ["producer"])
        #expect(machine.queuedBytes == 0)
    }

    @Test("an unwritable stream holds the producer whatever the bytes")
    func unwritable() {
        var machine = OutboxStateMachine<Int, String>(highWatermark: 16, byteLimit: 1_000)
        _ = machine.attach()
        _ = machine.setWritable(false)
        #expect(machine.append(1, bytes: 1) == .queued(scheduleDrain: true, mustWait: true))
        #expect(machine.park("producer") == .parked)
        #expect(Array(machine.setWritable(true)) == ["producer"])
    }
}

@Suite("Connection receive budget")
struct ConnectionReceiveBudgetTests {
    @Test("under budget, connection window updates pass")
    func underBudget() {
        var budget = ConnectionReceiveBudget(limit: 100)
        budget.hold(50)
        #expect(budget.admit(40) == 40)
    }

    @Test("over budget, updates are withheld, then sent together once stalled streams give bytes up")
    func overBudget() {
        var budget = ConnectionReceiveBudget(limit: 100)
        budget.hold(150)
        #expect(budget.admit(40) == nil)
        #expect(budget.admit(30) == nil)
        #expect(budget.release(20) == nil, "still over budget")
        #expect(budget.release(60) == 70)
        #expect(budget.admit(10) == 10)
    }
}

@Suite("Server connection lifecycle")
struct ServerConnectionLifecycleTests {
    let start = ContinuousClock.now

    func limits(idle: Duration? = nil, age: Duration? = nil, grace: Duration? = nil) -> ServerConnectionLimits {
        var limits = ServerConnectionLimits()
        limits.handshakeTimeout = .seconds(10)
        limits.maxConnectionIdle = idle
        limits.maxConnectionAge = age
        limits.maxConnectionAgeGrace = grace
        return limits
    }

    @Test("a connection that never completes its handshake is closed when the timer fires")
    func handshakeTimeout() {
        var machine = ServerConnectionLifecycle(limits: limits(), acceptedAt: start, jitter: 1)
        #expect(machine.handshakeDeadline(acceptedAt: start) == start + .seconds(10))
        #expect(machine.handshakeTimerFired() == .close)
        var completed = ServerConnectionLifecycle(limits: limits(), acceptedAt: start, jitter: 1)
        completed.handshakeCompleted()
        #expect(completed.handshakeTimerFired() == .none)
    }

    @Test("idleness counts only while no stream is open")
    func idle() {
        var machine = ServerConnectionLifecycle(limits: limits(idle: .seconds(5)), acceptedAt: start, jitter: 1)
        machine.handshakeCompleted()
        #expect(machine.nextIdleCheck() == start + .seconds(5))
        machine.streamOpened()
        #expect(machine.nextIdleCheck() == nil)
        #expect(machine.idleTimerFired(at: start + .seconds(6)) == .none, "a call is open")
        #expect(machine.streamClosed(at: start + .seconds(7)) == .none)
        #expect(machine.idleTimerFired(at: start + .seconds(8)) == .none, "idle for one second only")
        #expect(machine.idleTimerFired(at: start + .seconds(12)) == .goAway("max_idle", closeNow: true))
    }

    @Test("at its age a busy connection drains, and closes when its last call ends or the grace runs out")
    func age() throws {
        var machine = ServerConnectionLifecycle(limits: limits(age: .seconds(60), grace: .seconds(5)),
                                                acceptedAt: start, jitter: 1.1)
        let deadline = try #require(machine.ageDeadline)
        let error = (start + .seconds(66)).duration(to: deadline)
        #expect(error < .milliseconds(1) && error > .milliseconds(-1), "60 s with 10% jitter")
        machine.handshakeCompleted()
        machine.streamOpened()
        machine.streamOpened()
        #expect(machine.ageTimerFired(at: start + .seconds(66)) == .goAway("max_age", closeNow: false))
        #expect(machine.graceDeadline == start + .seconds(71))
        #expect(machine.streamClosed(at: start + .seconds(67)) == .none)
        #expect(machine.streamClosed(at: start + .seconds(68)) == .closeWhenWritten)
        var stuck = ServerConnectionLifecycle(limits: limits(age: .seconds(60), grace: .seconds(5)), acceptedAt: start,
                                              jitter: 1)
        stuck.handshakeCompleted()
        stuck.streamOpened()
        _ = stuck.ageTimerFired(at: start + .seconds(60))
        #expect(stuck.graceTimerFired() == .close)
    }

    @Test("a graceful server shutdown: GOAWAY, then close once the last stream's frames are out; at once if idle")
    func serverShutdown() {
        var busy = ServerConnectionLifecycle(limits: limits(), acceptedAt: start, jitter: 1)
        busy.handshakeCompleted()
        busy.streamOpened()
        #expect(busy.shutdownRequested() == .goAway("server_shutdown", closeNow: false))
        #expect(busy.shutdownRequested() == .none)
        #expect(busy.streamClosed(at: start + .seconds(1)) == .closeWhenWritten)
        var idle = ServerConnectionLifecycle(limits: limits(), acceptedAt: start, jitter: 1)
        idle.handshakeCompleted()
        #expect(idle.shutdownRequested() == .goAway("server_shutdown", closeNow: true))
        #expect(idle.phase == .closed)
    }

    @Test("an idle connection at its age goes at once")
    func ageWhileIdle() {
        var machine = ServerConnectionLifecycle(limits: limits(age: .seconds(60)), acceptedAt: start, jitter: 1)
        machine.handshakeCompleted()
        #expect(machine.ageTimerFired(at: start + .seconds(60)) == .goAway("max_age", closeNow: true))
    }
}

@Suite("Connection limits and the advertised stream limit")
struct ConnectionLimitTests {
    @Test("the default connection cap leaves an eighth of the descriptors, at least 64")
    func defaultCap() {
        #expect(ServerConnectionLimits.defaultMaxConnections(descriptorLimit: 1024) == 896)
        #expect(ServerConnectionLimits.defaultMaxConnections(descriptorLimit: 256) == 192)
        #expect(ServerConnectionLimits.defaultMaxConnections(descriptorLimit: 70) == 16)
        #expect(ServerConnectionLimits.descriptorLimit() > 0)
    }

    @Test("the first SETTINGS frame has its MAX_CONCURRENT_STREAMS rewritten, other settings kept")
    func rewrite() {
        var buffer = ByteBuffer(bytes: [0, 0, 12, 0x4, 0, 0, 0, 0, 0,
                                        0, 3, 0, 0, 0, 200,   // MAX_CONCURRENT_STREAMS 200
                                        0, 4, 0, 0x10, 0, 0]) // INITIAL_WINDOW_SIZE
        #expect(AdvertisedStreamLimit.rewriteFirstSettings(in: &buffer, from: 200, to: 100))
        #expect(Array(buffer.readableBytesView) == [0, 0, 12, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100,
                                                     0, 4, 0, 0x10, 0, 0])
        var notSettings = ByteBuffer(bytes: [0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(!AdvertisedStreamLimit.rewriteFirstSettings(in: &notSettings, from: 200, to: 100))
        #expect(AdvertisedStreamLimit.enforcedLimit(advertising: 100) == 200)
    }
}
