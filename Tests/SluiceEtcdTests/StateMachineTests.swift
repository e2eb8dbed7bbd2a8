import Foundation
@testable import SluiceEtcd
import Testing

@Suite("etcd client state machines: lease deadlines and watch resumption")
struct StateMachineTests {
    let start = ContinuousClock.now

    @Test("a lease is alive until its grant request's send time plus the TTL, and lost from then on")
    func grantDeadline() {
        var machine = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        #expect(machine.expiresBy == start + .seconds(2))
        let step1 = machine.isAlive(at: start + .milliseconds(1999))
        #expect(step1)
        let step2 = machine.isAlive(at: start + .seconds(2))
        #expect(!step2)
        #expect(machine.state == .lost)
        // Lost stays lost: a late renewal changes nothing.
        let step3 = machine.sending(at: start + .seconds(3))
        #expect(!step3)
        let step4 = machine.received(ttl: 2, at: start + .seconds(3))
        #expect(step4 == .ignored)
        #expect(machine.expiresBy == nil)
    }

    @Test("a renewal counts from when its request was sent, not from when the answer came")
    func renewalFromSendTime() {
        var machine = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        let step5 = machine.sending(at: start + .milliseconds(500))
        #expect(step5)
        // Answered 1.2 s later: the lease is alive until 0.5 + 2 s, not 1.7 + 2 s.
        let step6 = machine.received(ttl: 2, at: start + .milliseconds(1700))
        #expect(step6 == .renewed(expiresBy: start + .milliseconds(2500)))
        let step7 = machine.isAlive(at: start + .milliseconds(2499))
        #expect(step7)
        let step8 = machine.isAlive(at: start + .milliseconds(2500))
        #expect(!step8)
    }

    @Test("answers match requests in order; an answer with nothing outstanding is ignored")
    func answersInOrder() {
        var machine = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        let step9 = machine.sending(at: start + .milliseconds(100))
        #expect(step9)
        let step10 = machine.sending(at: start + .milliseconds(600))
        #expect(step10)
        let step11 = machine.received(ttl: 2, at: start + .milliseconds(700))
        #expect(step11 == .renewed(expiresBy: start + .milliseconds(2100)))
        let step12 = machine.received(ttl: 2, at: start + .milliseconds(800))
        #expect(step12 == .renewed(expiresBy: start + .milliseconds(2600)))
        let step13 = machine.received(ttl: 2, at: start + .milliseconds(900))
        #expect(step13 == .ignored)
        #expect(machine.expiresBy == start + .milliseconds(2600))
    }

    @Test("a broken stream forgets its unanswered requests; a renewal never shortens the deadline")
    func streamEndAndMonotonicDeadline() {
        var machine = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(10))
        let step14 = machine.sending(at: start + .seconds(1))
        #expect(step14)
        machine.streamEnded()
        let step15 = machine.received(ttl: 10, at: start + .seconds(2))
        #expect(step15 == .ignored)
        let step16 = machine.sending(at: start + .seconds(3))
        #expect(step16)
        // etcd answering a shorter TTL (a lease granted with less) does not move the deadline back.
        let step17 = machine.received(ttl: 1, at: start + .seconds(4))
        #expect(step17 == .renewed(expiresBy: start + .seconds(10)))
    }

    @Test("TTL 0 means etcd no longer has the lease; an answer after the deadline is a loss too")
    func losses() {
        var gone = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        let step18 = gone.sending(at: start + .milliseconds(100))
        #expect(step18)
        let step19 = gone.received(ttl: 0, at: start + .milliseconds(200))
        #expect(step19 == .lost)
        #expect(gone.state == .lost)

        var late = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        let step20 = late.sending(at: start + .milliseconds(1900))
        #expect(step20)
        // The process was paused: the answer arrives after the lease expired here.
        let step21 = late.received(ttl: 2, at: start + .seconds(5))
        #expect(step21 == .lost)

        var given = LeaseKeepAliveStateMachine(requestedAt: start, ttl: .seconds(2))
        given.giveUp()
        let step22 = given.isAlive(at: start)
        #expect(!step22)
    }

    func event(_ revision: Int64, _ type: Mvccpb_Event.EventType = .put) -> Mvccpb_Event {
        var event = Mvccpb_Event()
        event.type = type
        event.kv.key = Data("k\(revision)".utf8)
        event.kv.modRevision = revision
        return event
    }

    @Test("a watch from now learns its start from the created response and resumes past the last event")
    func watchFromNow() {
        var machine = WatchResumeStateMachine(from: 0)
        #expect(machine.nextRevision == 0)
        machine.progressed(to: 50)  // before creation: not yet a position
        #expect(machine.nextRevision == 0)
        machine.created(headerRevision: 41)
        #expect(machine.nextRevision == 42)
        let step23 = machine.deliver([event(42), event(43)])
        #expect(step23.map(\.kv.modRevision) == [42, 43])
        #expect(machine.nextRevision == 44)
        // Re-created after a reconnect: the position stays.
        machine.created(headerRevision: 60)
        #expect(machine.nextRevision == 44)
    }

    @Test("events a resumed watch sends again are dropped; a progress notification moves the position")
    func watchResume() {
        var machine = WatchResumeStateMachine(from: 10)
        let step24 = machine.deliver([event(10), event(11, .delete)])
        #expect(step24.count == 2)
        #expect(machine.nextRevision == 12)
        let step25 = machine.deliver([event(11), event(12)])
        #expect(step25.map(\.kv.modRevision) == [12])
        let step26 = machine.deliver([event(12)])
        #expect(step26.isEmpty)
        #expect(machine.nextRevision == 13)
        machine.progressed(to: 30)
        #expect(machine.nextRevision == 31)
        machine.progressed(to: 20)
        #expect(machine.nextRevision == 31)
    }

    @Test("prefix range ends as etcd's clientv3 computes them")
    func rangeEnds() {
        #expect(EtcdClient.rangeEnd(ofPrefix: Data("/a/".utf8)) == Data("/a0".utf8))
        #expect(EtcdClient.rangeEnd(ofPrefix: Data([0x61, 0xFF])) == Data([0x62]))
        #expect(EtcdClient.rangeEnd(ofPrefix: Data([0xFF, 0xFF])) == Data([0]))
        #expect(EtcdClient.rangeEnd(ofPrefix: Data()) == Data([0]))
    }

    @Test("registry URLs and endpoint lists become channel targets, or errors naming the problem")
    func configurations() throws {
        #expect(try EtcdConfiguration(url: "etcd://127.0.0.1:2379,127.0.0.1:22379").target() == "ipv4:127.0.0.1:2379,127.0.0.1:22379")
        #expect(try EtcdConfiguration(endpoints: ["[::1]:2379"]).target() == "ipv6:[::1]:2379")
        #expect(try EtcdConfiguration(endpoints: ["etcd.internal:2379"]).target() == "dns:///etcd.internal:2379")
        #expect(try EtcdConfiguration(endpoints: ["10.0.0.1"]).target() == "ipv4:10.0.0.1:2379")
        #expect(throws: EtcdError.self) { try EtcdConfiguration(url: "http://127.0.0.1:2379") }
        #expect(throws: EtcdError.self) { try EtcdConfiguration(url: "etcd://a:1,,b:2") }
        #expect(throws: EtcdError.self) { try EtcdConfiguration(endpoints: ["a.example:1", "b.example:2"]).target() }
        #expect(throws: EtcdError.self) { try EtcdConfiguration(endpoints: []).target() }
        #expect(throws: EtcdError.self) { try EtcdConfiguration(endpoints: ["127.0.0.1:99999"]).target() }
    }
}
