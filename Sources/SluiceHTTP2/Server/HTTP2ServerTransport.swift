import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Sluice
import Synchronization

/// Where a server listens or a client connects.
public enum SocketTarget: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IPv4/IPv6 address and a port (0 for any free port, on a server).
    case host(String, port: Int)
    /// A Unix domain socket path.
    case unixDomainSocket(String)

    public var description: String {
        switch self {
        case .host(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixDomainSocket(let path): return "unix:\(path)"
        }
    }
}

/// gRPC over HTTP/2 for servers: plaintext or TLS, TCP or Unix domain sockets.
public final class HTTP2ServerTransport: ServerTransport {
    /// Server settings.
    public struct Configuration: Sendable {
        /// Largest request message accepted, after decompression (gRPC's default: 4 MiB).
        public var maxReceiveMessageSize = MessageSizeLimits.defaultMaxReceive
        /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients.
        public var maxConcurrentStreams = 100
        /// TLS, with ALPN `h2`; nil serves plaintext (h2c with prior knowledge).
        public var tls: TLSConfiguration?
        /// Keepalive: how the server answers and polices client pings.
        public var keepalive = ServerKeepalive()
        /// How many connections, and how long each may take to start, idle and live.
        public var connectionLimits = ServerConnectionLimits()
        /// Memory a connection may hold for what clients send and what calls answer.
        public var buffers = ServerBufferLimits()
        /// Where the transport logs its connections' events, each with the peer, with the keys
        /// of `LogKeys`: at `debug` connections accepted, refused (at the connection limit)
        /// and closed, GOAWAYs sent and why (shutdown, idleness, age, too many pings),
        /// connection errors; at `trace` each keepalive ping strike. nil, the default, logs
        /// nothing.
        public var logger: Logger?
        /// REST/JSON on this port beside gRPC: HTTP/1.1 connections (told from HTTP/2 by
        /// their first bytes; with TLS, ALPN offers `http/1.1` too) go to this transcoder,
        /// whose calls run through the server like any other. nil, the default, serves gRPC
        /// alone. (For a port of REST's own, see ``RESTServer``.)
        public var rest: RESTTranscoder?

        public init() {}
    }

    private struct State {
        var handler: (@Sendable (ServerStream) async -> Void)?
        var activeCalls = 0
        var shuttingDown = false
        var drained: CheckedContinuation<Void, Never>?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var serverChannel: (any Channel)?
    }

    public let target: SocketTarget
    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let boundAddress = OneShot<Result<SocketAddress, any Error>>()

    public init(target: SocketTarget, configuration: Configuration = Configuration(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.target = target
        self.configuration = configuration
        self.group = eventLoopGroup
    }

    /// The address the server is bound to, once it listens (useful with port 0), as NIO names it.
    public var listeningSocketAddress: SocketAddress {
        get async throws { try await boundAddress.value.get() }
    }

    /// The address the server is bound to, once it listens (useful with port 0).
    public var listeningAddress: ListeningAddress {
        get async throws { Self.listeningAddress(of: try await boundAddress.value.get()) }
    }

    private static func listeningAddress(of address: SocketAddress) -> ListeningAddress {
        switch address {
        case .v4(let v4): return .ipv4(host: v4.host, port: address.port ?? 0)
        case .v6(let v6): return .ipv6(host: v6.host, port: address.port ?? 0)
        case .unixDomainSocket: return .unixDomainSocket(path: address.pathname ?? "")
        }
    }

    /// Connections open, handlers running, and where it listens, now.
    public var activity: ServerTransportActivity? {
        let address = try? boundAddress.peek()?.get()
        return state.withLock { state in
            ServerTransportActivity(listeningAddress: address.map { Self.listeningAddress(of: $0).description },
                                    openConnections: state.connections.count,
                                    callsInFlight: state.activeCalls, shuttingDown: state.shuttingDown)
        }
    }

    public func listen(_ handle: @escaping @Sendable (ServerStream) async -> Void) async throws {
        state.withLock { $0.handler = handle }
        let sslContext: NIOSSLContext?
        do {
            sslContext = try configuration.tls.map { tls -> NIOSSLContext in
                var tls = tls
                tls.applicationProtocols = self.configuration.rest == nil ? ["h2"] : ["h2", "http/1.1"]
                return try NIOSSLContext(configuration: tls)
            }
        } catch {
            // Whoever awaits the address learns why there is none.
            boundAddress.set(.failure(error))
            throw error
        }
        let configuration = self.configuration
        let maxConnections = configuration.connectionLimits.effectiveMaxConnections
        let isTCP: Bool
        if case .host = target { isTCP = true } else { isTCP = false }
        var bootstrap = ServerBootstrap(group: group)
            // A burst of connections must not overflow the kernel's accept queue: dropped SYNs
            // are retried by clients after a second, then three (Linux caps this at somaxconn).
            .serverChannelOption(.backlog, value: 4096)
            // Accept in bigger batches per wake-up than NIO's default of 4.
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if isTCP { bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1) }
        bootstrap = bootstrap.childChannelInitializer { [self] channel in
            channel.eventLoop.makeCompletedFuture {
                // Past the limit the connection is closed at once, before it costs more than
                // its descriptor for a moment (NIO closes a channel whose initializer fails).
                guard self.admitConnection(channel, limit: maxConnections) else {
                    configuration.logger?.debug("connection refused: the server is at its connection limit",
                                                metadata: [LogKeys.peer: "\(Self.describe(channel.remoteAddress))"])
                    throw ConnectionLimitReached()
                }
                try self.configureConnection(channel, sslContext: sslContext, configuration: configuration)
            }
        }
        let channel: any Channel
        do {
            switch target {
            case .host(let host, let port):
                channel = try await bootstrap.bind(host: host, port: port).get()
            case .unixDomainSocket(let path):
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            }
        } catch {
            boundAddress.set(.failure(error))
            throw error
        }
        let alreadyShuttingDown = state.withLock { state -> Bool in
            state.serverChannel = channel
            return state.shuttingDown
        }
        if let address = channel.localAddress {
            boundAddress.set(.success(address))
        }
        if alreadyShuttingDown { try? await channel.close() }

        // Serve until shut down and every call has ended.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.shuttingDown && state.activeCalls == 0 { return true }
                state.drained = continuation
                return false
            }
            if done { continuation.resume() }
        }
        try? await channel.closeFuture.get()
        // Each connection closes itself once its last stream has closed, after that stream's
        // final frames went out; closing it here at once could drop a call's last messages
        // and trailers still in the channel. One that has not closed within a second (its
        // peer never ends a stream, say) is closed.
        let connections = state.withLock { Array($0.connections.values) }
        let fallbacks = connections.map { connection in
            connection.eventLoop.scheduleTask(in: .seconds(1)) { connection.close(promise: nil) }
        }
        for connection in connections { try? await connection.closeFuture.get() }
        for fallback in fallbacks { fallback.cancel() }
    }

    public func beginGracefulShutdown() {
        shutDown(force: false)
    }

    /// Stops accepting and closes every connection: streams in flight are reset, and their
    /// handlers cancelled.
    public func shutdownNow() {
        shutDown(force: true)
    }

    private func shutDown(force: Bool) {
        // Whoever waits for an address that will never come learns it.
        boundAddress.set(.failure(RPCError(code: .unavailable, message: "the server shut down before it listened")))
        let (server, connections, resume) = state.withLock { state -> ((any Channel)?, [any Channel], CheckedContinuation<Void, Never>?) in
            state.shuttingDown = true
            var resume: CheckedContinuation<Void, Never>?
            if state.activeCalls == 0 {
                resume = state.drained
                state.drained = nil
            }
            return (state.serverChannel, Array(state.connections.values), resume)
        }
        server?.close(promise: nil)
        for connection in connections {
            if force {
                connection.close(promise: nil)
                continue
            }
            // GOAWAY: no new streams; those in flight finish, then the connection closes.
            connection.pipeline.fireUserInboundEventTriggered(ServerGracefulShutdownEvent())
        }
        resume?.resume()
    }

    // MARK: - Connections and calls

    /// Counts the connection in, unless the server is at its limit.
    private func admitConnection(_ channel: any Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard state.connections.count < limit else { return false }
            state.connections[id] = channel
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
        return true
    }

    private func configureConnection(_ channel: any Channel, sslContext: NIOSSLContext?, configuration: Configuration) throws {
        let sync = channel.pipeline.syncOperations
        if let sslContext {
            try sync.addHandler(NIOSSLServerHandler(context: sslContext))
        }
        guard let rest = configuration.rest else {
            try configureHTTP2(channel, configuration: configuration)
            return
        }
        try sync.addHandler(HTTPVersionSniffer(timeout: configuration.connectionLimits.handshakeTimeout) { [self] version, channel in
            switch version {
            case .http2: try self.configureHTTP2(channel, configuration: configuration)
            case .http1: try self.configureHTTP1(channel, transcoder: rest)
            }
        })
    }

    /// An HTTP/1.1 connection of REST requests, whose calls count as the server's own.
    private func configureHTTP1(_ channel: any Channel, transcoder: RESTTranscoder) throws {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(RESTRequestTimeout(timeout: transcoder.configuration.requestTimeout))
        let connection = try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
        let dispatch: @Sendable (ServerStream) async -> Void = { [weak self] stream in
            guard let call = self?.startCall(stream) else {
                stream.responses.yield(.end(RPCError(code: .unavailable, message: "the server is shutting down"), trailers: [:]))
                stream.responses.finish()
                return
            }
            await call.value
        }
        Task { try? await RESTConnection.serve(connection, transcoder: transcoder, dispatch: dispatch) }
    }

    private func configureHTTP2(_ channel: any Channel, configuration: Configuration) throws {
        let sync = channel.pipeline.syncOperations
        let peer = Self.describe(channel.remoteAddress)
        let logger = configuration.logger.map { logger in
            var logger = logger
            logger[metadataKey: LogKeys.peer] = "\(peer)"
            return logger
        }
        if let logger {
            logger.debug("connection accepted")
            channel.closeFuture.whenComplete { _ in logger.debug("connection closed") }
        }
        let streamLimit = AdvertisedStreamLimit(advertised: configuration.maxConcurrentStreams)
        try sync.addHandler(streamLimit)
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            // Rewritten to the configured limit on the way out (AdvertisedStreamLimit).
            HTTP2Setting(parameter: .maxConcurrentStreams, value: streamLimit.enforced),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoderDefaults.maxHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.buffers.streamWindow),
        ]
        // swift-nio-http2 allows 200 control frames (PING, SETTINGS, ...) per 30 s by default and
        // answers more with GOAWAY ENHANCE_YOUR_CALM. grpc-go's bandwidth estimator pings once
        // per round trip while data flows: once per call for a client making one call at a
        // time, so any fixed count is eventually exceeded by a well-behaved client (the
        // failure grpc-swift 2.9 shows). Pings are policed by ServerConnectionHandler with
        // grpc-go's own rule instead, as grpc-go does, and swift-nio-http2's cap on unsent
        // control frames (10,000) bounds what a peer that never reads our ACKs can cost.
        connectionConfiguration.controlFrameRateLimit.maximumCount = .max
        let maxReceive = configuration.maxReceiveMessageSize
        let buffers = configuration.buffers
        let accept: ServerStreamHandler.Accept = { [weak self] stream in self?.startCall(stream) }
        let streams = StreamTable<ServerStreamHandler>(
            streamWindow: buffers.streamWindow, connectionWindow: buffers.connectionWindow,
            receiveBudget: buffers.connectionReceiveBudget, maxConcurrentStreams: configuration.maxConcurrentStreams
        ) { streamID, table in
            ServerStreamHandler(table: table, streamID: streamID, accept: accept, maxReceiveMessageSize: maxReceive,
                                pipeByteLimit: buffers.receivedMessageBytesPerStream,
                                outboxByteLimit: buffers.outboundBytesPerStream, peer: peer, rest: configuration.rest)
        }
        try sync.addHandler(NIOHTTP2Handler(mode: .server, frameDelegate: streams,
                                            connectionConfiguration: connectionConfiguration))
        try sync.addHandler(streams)
        try sync.addHandler(ServerConnectionHandler(keepalive: configuration.keepalive,
                                                    limits: configuration.connectionLimits, streams: streams, logger: logger))
    }

    private func startCall(_ stream: ServerStream) -> Task<Void, Never>? {
        let handler = state.withLock { state -> (@Sendable (ServerStream) async -> Void)? in
            guard !state.shuttingDown, let handler = state.handler else { return nil }
            state.activeCalls += 1
            return handler
        }
        guard let handler else { return nil }
        return Task { [weak self] in
            await handler(stream)
            self?.callEnded()
        }
    }

    private func callEnded() {
        let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.activeCalls -= 1
            guard state.shuttingDown, state.activeCalls == 0 else { return nil }
            defer { state.drained = nil }
            return state.drained
        }
        resume?.resume()
    }

    /// `ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`, `unix:/tmp/s`: gRPC's peer notation.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        switch address {
        case .v4(let v4): return "ipv4:\(v4.host):\(address.port ?? 0)"
        case .v6(let v6): return "ipv6:[\(v6.host)]:\(address.port ?? 0)"
        case .unixDomainSocket: return "unix:\(address.pathname ?? "")"
        }
    }
}

/// A connection beyond ``ServerConnectionLimits/maxConnections``, closed as it was accepted.
struct ConnectionLimitReached: Error, CustomStringConvertible {
    var description: String { "the server is at its connection limit" }
}

/// Defaults NIO does not export.
enum HPACKDecoderDefaults {
    /// 16 KiB, as grpc-go and C-core advertise.
    static let maxHeaderListSize = 16 * 1024
}
