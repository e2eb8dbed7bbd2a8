/// Hosts services on a transport.
///
///     let server = GRPCServer(transport: transport, services: [QueueService()])
///     try await server.serve()
public struct GRPCServer: Sendable {
    public let transport: any ServerTransport
    public let interceptors: [any ServerInterceptor]
    let router: RPCRouter

    public init(transport: any ServerTransport, services: [any RegistrableService], interceptors: [any ServerInterceptor] = []) {
        self.transport = transport
        self.interceptors = interceptors
        var router = RPCRouter()
        for service in services { service.registerMethods(with: &router) }
        self.router = router
    }

    /// The methods this server answers.
    public var methods: [MethodDescriptor] { router.methods }

    /// Serves until ``beginGracefulShutdown()`` and the calls in flight have finished.
    public func serve() async throws {
        let router = self.router
        let interceptors = self.interceptors
        try await transport.listen { stream in
            await ServerEngine.handle(stream, router: router, interceptors: interceptors)
        }
    }

    /// Stops accepting calls; those in flight run to their end.
    public func beginGracefulShutdown() {
        transport.beginGracefulShutdown()
    }
}
