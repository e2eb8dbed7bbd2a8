import Synchronization

/// How many messages, and how many bytes of them, a call has sent and received so far: what
/// logging and metrics interceptors report. Bytes are serialized message sizes, before
/// compression and without gRPC's 5-byte prefix.
///
/// On a client, received messages count when the transport delivers them (whether or not
/// the caller has read them yet), and sent ones when they are handed to the transport; on a
/// server, requests count as the handler reads them, responses as it writes them.
public struct CallStatistics: Sendable, Hashable {
    public var messagesSent = 0
    public var bytesSent = 0
    public var messagesReceived = 0
    public var bytesReceived = 0

    public init(messagesSent: Int = 0, bytesSent: Int = 0, messagesReceived: Int = 0, bytesReceived: Int = 0) {
        self.messagesSent = messagesSent
        self.bytesSent = bytesSent
        self.messagesReceived = messagesReceived
        self.bytesReceived = bytesReceived
    }
}

/// The counters behind ``CallStatistics``, stored inline in a call's state object: relaxed
/// atomics, so counting costs no lock and no allocation.
struct CallCounters: ~Copyable, Sendable {
    private let messagesSent = Atomic<Int>(0)
    private let bytesSent = Atomic<Int>(0)
    private let messagesReceived = Atomic<Int>(0)
    private let bytesReceived = Atomic<Int>(0)

    init() {}

    func sent(_ bytes: Int) {
        messagesSent.add(1, ordering: .relaxed)
        bytesSent.add(bytes, ordering: .relaxed)
    }

    func received(_ bytes: Int) {
        messagesReceived.add(1, ordering: .relaxed)
        bytesReceived.add(bytes, ordering: .relaxed)
    }

    var snapshot: CallStatistics {
        CallStatistics(messagesSent: messagesSent.load(ordering: .relaxed), bytesSent: bytesSent.load(ordering: .relaxed),
                       messagesReceived: messagesReceived.load(ordering: .relaxed),
                       bytesReceived: bytesReceived.load(ordering: .relaxed))
    }
}
