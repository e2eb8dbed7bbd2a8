/// Hosts services on a transport.
///
///     let server = GRPCServer(transport: transport, services: [QueueService()])
///     try await server.serve()
///
/// Two ways to stop it, both ending `serve()`:
/// - ``beginGracefulShutdown()``: no new calls; those in flight run to their end.
/// - Cancelling the task that runs `serve()`: the same graceful shutdown, then, if calls are
///   still running after ``shutdownGracePeriod``, ``shutdownNow()``, which cancels them.
public struct GRPCServer: Sendable {
    public let transport: any ServerTransport
    public let interceptors: [any ServerInterceptor]
    /// How long calls in flight may run on after the task serving them is cancelled, before
    /// they are cancelled too.
    public var shutdownGracePeriod: Duration
    let router: RPCRouter

    /// A server of `services` on `transport`; interceptors run in order, the first outermost.
    public init(transport: any ServerTransport, services: [any RegistrableService], interceptors: [any ServerInterceptor] = [],
                shutdownGracePeriod: Duration = .seconds(10)) {
        self.transport = transport
        self.interceptors = interceptors
        self.shutdownGracePeriod = shutdownGracePeriod
        var router = RPCRouter()
        for service in services { service.registerMethods(with: &router) }
        self.router = router
    }

    /// The methods this server answers.
    public var methods: [MethodDescriptor] { router.methods }

    /// Serves until shut down (``beginGracefulShutdown()``, ``shutdownNow()``, or cancelling the
    /// calling task) and every call in flight has finished. Throws if the transport cannot
    /// listen.
    public func serve() async throws {
        let router = self.router
        let interceptors = self.interceptors
        let transport = self.transport
        let grace = self.shutdownGracePeriod
        // The timer that turns a cancelled serve() into a forced shutdown; it is itself
        // cancelled when serving ends first.
        let forced = ForcedShutdownTimer()
        defer { forced.cancel() }
        await TimerRuntime.prepare()
        try await withTaskCancellationHandler {
            try await transport.listen { stream in
                await ServerEngine.handle(stream, router: router, interceptors: interceptors)
            }
        } onCancel: {
            transport.beginGracefulShutdown()
            forced.start(after: grace) { transport.shutdownNow() }
        }
    }

    /// Serves one stream that did not come from the server's transport: a gateway's or the
    /// REST transcoder's, through the same routing and interceptors. Returns when the call
    /// has ended and its response stream is finished.
    ///
    /// - Parameter stream: The call.
    public func handle(_ stream: ServerStream) async {
        await ServerEngine.handle(stream, router: router, interceptors: interceptors)
    }

    /// Where the server accepts calls, once ``serve()`` listens: awaiting it is how a test or a
    /// caller knows the server is ready, and with port 0 which port it got. Throws the error
    /// that kept the server from listening.
    public var listeningAddress: ListeningAddress {
        get async throws { try await transport.listeningAddress }
    }

    /// Stops accepting calls; those in flight run to their end.
    public func beginGracefulShutdown() {
        transport.beginGracefulShutdown()
    }

    /// Stops accepting calls and cancels those in flight.
    public func shutdownNow() {
        transport.shutdownNow()
    }
}
