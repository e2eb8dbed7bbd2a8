/// Ways to tie a client's connections to structured code, so that `close()` is never forgotten.
extension GRPCClient {
    /// Runs until the calling task is cancelled, then closes the transport once the calls in
    /// flight end: for a client that lives as long as a task group or a service group.
    ///
    ///     try await withThrowingDiscardingTaskGroup { group in
    ///         group.addTask { await client.run() }
    ///         ...
    ///         group.cancelAll()
    ///     }
    public func run() async {
        await untilCancelled()
        await close()
    }
}

/// Makes a client, runs `body` with it, and closes the client when `body` returns or throws.
///
///     let reply = try await withGRPCClient(transport: HTTP2ClientTransport(target: .host("localhost", port: 50051))) { client in
///         try await Greeter.Client(wrapping: client).sayHello(request)
///     }
public func withGRPCClient<Result: Sendable>(
    transport: any ClientTransport,
    interceptors: [any ClientInterceptor] = [],
    defaultOptions: CallOptions = .defaults,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (GRPCClient) async throws -> Result
) async throws -> Result {
    let client = GRPCClient(transport: transport, interceptors: interceptors, defaultOptions: defaultOptions)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Suspends until the current task is cancelled, holding no thread.
func untilCancelled() async {
    // An AsyncStream that is never fed ends its iteration when the iterating task is cancelled.
    let (stream, continuation) = AsyncStream<Never>.makeStream()
    for await _ in stream {}
    withExtendedLifetime(continuation) {}
}
