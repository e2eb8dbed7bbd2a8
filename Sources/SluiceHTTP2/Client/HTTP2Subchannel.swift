import Logging
import NIOCore
import NIOPosix
import Sluice
import Synchronization

/// HTTP/2 subchannels for a `GRPCChannel`: each endpoint gets an ``HTTP2ClientTransport``
/// (a pool of connections to the endpoint's first address) that reconnects by itself after
/// each failure's backoff, as gRPC subchannels do.
public struct HTTP2SubchannelFactory: SubchannelFactory {
    public let configuration: HTTP2ClientTransport.Configuration
    private let group: any EventLoopGroup

    public init(configuration: HTTP2ClientTransport.Configuration = .init(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = eventLoopGroup
    }

    public func makeSubchannel(for endpoint: Endpoint) throws -> any Subchannel {
        guard let address = endpoint.addresses.first else {
            throw ResolverTargetError(target: endpoint.description, problem: "the endpoint has no address")
        }
        let target: SocketTarget
        switch address {
        case .ipv4(let host, let port), .ipv6(let host, let port): target = .host(host, port: port)
        case .unixDomainSocket(let path): target = .unixDomainSocket(path)
        case .unixAbstract(let name):
            throw ResolverTargetError(target: "unix-abstract:\(name)", problem: "abstract Unix sockets are not supported by SluiceHTTP2")
        }
        return HTTP2Subchannel(endpoint: endpoint,
                               transport: try HTTP2ClientTransport(target: target, configuration: configuration, eventLoopGroup: group))
    }
}

/// One endpoint's connection pool as a subchannel.
final class HTTP2Subchannel: Subchannel {
    let endpoint: Endpoint
    let transport: HTTP2ClientTransport
    private let reconnect = Mutex<Task<Void, Never>?>(nil)

    init(endpoint: Endpoint, transport: HTTP2ClientTransport) {
        self.endpoint = endpoint
        self.transport = transport
    }

    var connectivityState: ConnectivityState { transport.connectivityState }

    func observeState(_ observer: @escaping @Sendable (ConnectivityState) -> Void) {
        transport.observeState { [weak self] state in
            // TRANSIENT_FAILURE lasts one backoff, then the subchannel tries again by itself.
            if state == .transientFailure { self?.scheduleReconnect() }
            observer(state)
        }
    }

    func connect() { transport.connect() }

    func openStream(_ head: RequestHead) async throws -> ClientStream {
        try await transport.openStream(head)
    }

    func shutdown() async {
        reconnect.withLock { $0?.cancel() }
        await transport.drain()
    }

    func close() async {
        reconnect.withLock { $0?.cancel() }
        await transport.close()
    }

    private func scheduleReconnect() {
        let wake = transport.retryAfter ?? .now
        let task = Task { [weak self] in
            guard (try? await Task.sleep(until: wake, clock: .continuous)) != nil else { return }
            self?.transport.connect()
        }
        reconnect.withLock { previous in
            previous?.cancel()
            previous = task
        }
    }
}

extension NameResolverRegistry {
    /// The literal-address resolvers and `dns`, for channels over HTTP/2.
    public static var http2: NameResolverRegistry {
        var registry = NameResolverRegistry()
        registry.register(DNSResolverFactory())
        return registry
    }
}

extension GRPCChannel {
    /// A channel over HTTP/2 to `target` (`dns:///host:port`, `host:port`, `ipv4:...`,
    /// `unix:...`, or any scheme of `resolvers`); the other parameters are as for
    /// `init(target:subchannels:resolvers:defaultServiceConfig:policies:circuitBreaker:idleTimeout:logger:)`.
    public convenience init(http2 target: String, configuration: HTTP2ClientTransport.Configuration = .init(),
                            defaultServiceConfig: ServiceConfig = ServiceConfig(),
                            resolvers: NameResolverRegistry = .http2,
                            circuitBreaker: CircuitBreakerConfiguration? = nil, idleTimeout: Duration? = nil,
                            logger: Logger? = nil) throws {
        try self.init(target: target, subchannels: HTTP2SubchannelFactory(configuration: configuration), resolvers: resolvers,
                      defaultServiceConfig: defaultServiceConfig, circuitBreaker: circuitBreaker, idleTimeout: idleTimeout,
                      logger: logger)
    }
}
