import NIOCore
import NIOHTTP1
import NIOPosix
import Sluice

/// Serves a gRPC server's methods as REST/JSON over HTTP/1.1, on a port of its own, from
/// their `google.api.http` bindings: each request goes through `RESTTranscoder` into the
/// server's own routing and interceptors.
///
///     let server = GRPCServer(transport: HTTP2ServerTransport(target: .host("0.0.0.0", port: 50051)),
///                             services: [queue])
///     let rest = try RESTServer(server: server, services: [queue], port: 8080)
///     async let grpc: Void = server.serve()
///     try await rest.run()   // until the task is cancelled
///
/// Requests on one connection are answered in order (keep-alive and pipelining as HTTP/1.1
/// allows); a server-streaming method's body is chunked, one JSON line per message. Bodies
/// over `RESTConfiguration.maxBodyBytes` are refused with 413 before they are buffered, and
/// request heads are bounded by NIO's parser (80 KiB).
public final class RESTServer: Sendable {
    private let server: GRPCServer
    private let transcoder: RESTTranscoder
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let bound = OneShot<Result<Int, any Error>>()

    /// A REST server for `services`, which `server` serves.
    ///
    /// - Parameters:
    ///   - server: The gRPC server whose routing and interceptors run each call.
    ///   - services: The services whose `httpBindings` are served (the server's own).
    ///   - configuration: Header forwarding and body limits.
    ///   - host: The address to listen on.
    ///   - port: The port; 0 for any free one (see ``listeningPort``).
    ///   - eventLoopGroup: The event loops connections run on.
    /// - Throws: `PathTemplateError` for a binding whose template breaks the grammar.
    public init(server: GRPCServer, services: [any RegistrableService], configuration: RESTConfiguration = RESTConfiguration(),
                host: String = "0.0.0.0", port: Int, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.server = server
        self.transcoder = try RESTTranscoder(services: services, configuration: configuration)
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
        let requestTimeout = transcoder.configuration.requestTimeout
        let listener: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(RESTRequestTimeout(timeout: requestTimeout))
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            bound.set(.failure(error))
            throw error
        }
        bound.set(.success(listener.channel.localAddress?.port ?? port))
        let transcoder = self.transcoder
        let server = self.server
        try await withTaskCancellationHandler {
            try await listener.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask {
                            // A connection that fails (a reset, a malformed request) ends alone.
                            try? await RESTConnection.serve(connection, transcoder: transcoder) { stream in await server.handle(stream) }
                        }
                    }
                }
            }
        } onCancel: {
            listener.channel.close(promise: nil)
        }
    }
}
