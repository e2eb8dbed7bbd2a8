/// gRPC's connectivity states (doc/connectivity-semantics-and-api.md), of a subchannel and of
/// a channel as a whole.
public enum ConnectivityState: String, Sendable, Hashable, CustomStringConvertible {
    /// No connection, and none being made: the next call (or the load balancer) starts one.
    case idle = "IDLE"
    /// A connection is being made.
    case connecting = "CONNECTING"
    /// A connection is up and takes calls.
    case ready = "READY"
    /// The last attempt failed; another follows after a backoff.
    case transientFailure = "TRANSIENT_FAILURE"
    /// Closed for good.
    case shutdown = "SHUTDOWN"

    public var description: String { rawValue }
}

/// A connection, or pool of connections, to one endpoint, as a channel's load balancer uses
/// it. Transports make them (SluiceHTTP2's is an HTTP/2 connection pool to the endpoint).
public protocol Subchannel: Sendable {
    /// The endpoint this subchannel connects to.
    var endpoint: Endpoint { get }
    /// The state now.
    var connectivityState: ConnectivityState { get }
    /// Calls `observer` on every state change from now on, on any thread; set once, by the
    /// channel that owns the subchannel.
    func observeState(_ observer: @escaping @Sendable (ConnectivityState) -> Void)
    /// Starts connecting if IDLE; does nothing otherwise.
    func connect()
    /// Opens a stream for one call on a ready connection (or fails with UNAVAILABLE).
    func openStream(_ head: RequestHead) async throws -> ClientStream
    /// Takes no new calls, and closes once those in flight end: for an endpoint the
    /// resolver no longer lists, or a channel gone idle.
    func shutdown() async
    /// Closes at once: calls in flight on it fail with UNAVAILABLE. For a channel that is
    /// closed, as grpc-go's `ClientConn.Close` ends its RPCs.
    func close() async
}

/// Makes subchannels for a channel's endpoints.
public protocol SubchannelFactory: Sendable {
    /// A subchannel to `endpoint`, IDLE until asked to connect.
    ///
    /// - Throws: An error naming what about the endpoint this transport cannot reach.
    func makeSubchannel(for endpoint: Endpoint) throws -> any Subchannel
}
