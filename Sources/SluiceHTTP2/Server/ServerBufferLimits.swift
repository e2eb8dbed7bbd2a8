/// What one server connection may buffer, in bytes, whatever its clients send or fail to read.
///
/// The worst case for one connection, with `S` = ``HTTP2ServerTransport/Configuration/maxConcurrentStreams``
/// and `M` = ``HTTP2ServerTransport/Configuration/maxReceiveMessageSize``:
///
/// - received, not yet read by calls: at most
///   `min(S × streamWindow, connectionReceiveBudget + connectionWindow)` as received bytes
///   for calls that are behind, plus, as messages waiting in calls' pipes,
///   `S × min(128 messages, receivedMessageBytesPerStream + M)`, plus one partly received
///   message (at most `M`) per stream;
/// - to send: `S × (2 × (outboundBytesPerStream + largest response message) + 64 KiB)`
///   (the outbox, the batch handed to HTTP/2 while the stream was writable, and HTTP/2's own
///   backlog watermark).
///
/// With the defaults and 1 KiB messages that is about 33 MiB received and 19 MiB to send per
/// connection at most: a client that opens 100 streams and stops reading pins no more.
/// Multiply by ``ServerConnectionLimits/maxConnections`` for the server.
public struct ServerBufferLimits: Sendable, Hashable {
    /// SETTINGS_INITIAL_WINDOW_SIZE: how far a client may run ahead of a call on one stream.
    /// 1 MiB (grpc-go starts at 64 KiB and grows windows by bandwidth estimation; a fixed
    /// 1 MiB keeps streaming at full speed on fast links without it).
    public var streamWindow = FlowControlDefaults.streamWindow
    /// The connection's receive window, shared by its streams.
    public var connectionWindow = FlowControlDefaults.connectionWindow
    /// Bytes that streams whose calls are behind may hold together before the connection's
    /// window is withheld too (which holds back the connection's other streams until they
    /// catch up or close).
    public var connectionReceiveBudget = FlowControlDefaults.connectionReceiveBudget
    /// Bytes of received messages a call's request pipe holds (beside at most 128 messages)
    /// before the stream stops deframing.
    public var receivedMessageBytesPerStream = FlowControlDefaults.receivePipeBytesPerStream
    /// Bytes of response messages a call may queue before its writes wait.
    public var outboundBytesPerStream = FlowControlDefaults.outboxBytesPerStream

    public init() {}
}
