import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Sluice
import Synchronization

/// Serves a Prometheus registry as `GET /metrics` in the text exposition format 0.0.4, on an
/// HTTP/1.1 port of its own (a scraper need not speak gRPC, and the metrics stay reachable
/// while the gRPC port is saturated):
///
///     let registry = PrometheusCollectorRegistry()
///     MetricsSystem.bootstrap(GRPCPrometheusNaming.metricsFactory(registry: registry))
///     let metrics = PrometheusMetricsServer(registry: registry, port: 9464)
///     try await metrics.run()   // until the task is cancelled
///
/// Any other path is 404, any other method 405. Request bodies are discarded as they arrive
/// and request heads are limited by NIO's parser (80 KiB), so a client costs bounded memory.
public final class PrometheusMetricsServer: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let beforeScrape: (@Sendable () -> Void)?
    private let bound = OneShot<Result<Int, any Error>>()

    /// - Parameters:
    ///   - host: The address to listen on; loopback by default, as metrics are rarely public.
    ///   - port: The port; 0 for any free one (see ``listeningPort``).
    ///   - beforeScrape: Called before each exposition is written, on an event loop: where
    ///     sampled values are brought up to date (``StatusGauges`` records snapshots quickly
    ///     enough). It must not block.
    public init(registry: PrometheusCollectorRegistry, host: String = "127.0.0.1", port: Int,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                beforeScrape: (@Sendable () -> Void)? = nil) {
        self.registry = registry
        self.beforeScrape = beforeScrape
        self.host = host
        self.port = port
        self.group = eventLoopGroup
    }

    /// The port the server listens on, once it does.
    public var listeningPort: Int {
        get async throws { try await bound.value.get() }
    }

    /// Listens and serves until the calling task is cancelled; throws if it cannot bind.
    public func run() async throws {
        let registry = self.registry
        let beforeScrape = self.beforeScrape
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(registry: registry, beforeScrape: beforeScrape))
                    }
                }
                .bind(host: host, port: port)
                .get()
        } catch {
            bound.set(.failure(error))
            throw error
        }
        bound.set(.success(channel.localAddress?.port ?? port))
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// Answers each request once its end arrives; bodies are dropped as they come.
private final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let beforeScrape: (@Sendable () -> Void)?
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, beforeScrape: (@Sendable () -> Void)?) {
        self.registry = registry
        self.beforeScrape = beforeScrape
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        var body = ByteBuffer()
        var headers = HTTPHeaders()
        if path != "/metrics" {
            status = .notFound
            body.writeString("not found: metrics are at /metrics\n")
        } else if head.method != .GET && head.method != .HEAD {
            status = .methodNotAllowed
            headers.add(name: "allow", value: "GET, HEAD")
        } else {
            status = .ok
            headers.add(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
            beforeScrape?()
            body.writeBytes(registry.emitToBuffer())
        }
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
