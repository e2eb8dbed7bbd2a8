import Synchronization

extension GRPCServer {
    /// Serves as ``serve()`` does, registered in `registry` for as long as it serves: once the
    /// transport listens, `instance` (given the address it listens on) is registered; when
    /// the calling task is cancelled (graceful shutdown), the instance is deregistered first,
    /// then, after `deregistrationDelay` for watching clients to move away, the server drains
    /// as ``serve()`` does. A client balancing over the registry therefore loses no call to
    /// a graceful removal.
    ///
    ///     try await server.serve(registeringIn: registry) { address in
    ///         ServiceInstance(service: "orders", id: nodeID, address: "127.0.0.1:\(address.port ?? 0)")
    ///     }
    ///
    /// If serving ends by itself (``beginGracefulShutdown()``, a failure), the instance is
    /// deregistered as it ends.
    ///
    /// - Parameters:
    ///   - registry: Where to register.
    ///   - instance: The instance to register, made from the address the server listens on.
    ///   - deregistrationDelay: How long the server keeps taking new calls after it left the
    ///     registry, while watchers learn of it: 1 s by default.
    /// - Throws: What kept the server from listening, or what made registering fail other
    ///   than cancellation (for example an address the registry refuses), after the server
    ///   has stopped.
    public func serve(registeringIn registry: any ServiceRegistry,
                      as instance: @escaping @Sendable (ListeningAddress) throws -> ServiceInstance,
                      deregistrationDelay: Duration = .seconds(1)) async throws {
        let server = self
        // Neither task inherits this task's cancellation: shutting down is ordered here.
        let serving = Task { try await server.serve() }
        let registering = Task { () async throws -> any ServiceRegistration in
            let address = try await server.listeningAddress
            return try await registry.register(try instance(address))
        }
        let registrationFailure = Mutex<(any Error)?>(nil)
        let watcher = Task {
            if case .failure(let error) = await registering.result, !(error is CancellationError) {
                registrationFailure.withLock { $0 = error }
                serving.cancel()
            }
        }
        let result = await withTaskCancellationHandler {
            await serving.result
        } onCancel: {
            Task {
                registering.cancel()
                if let registration = try? await registering.value {
                    try? await registration.deregister()
                    try? await Task.sleep(for: deregistrationDelay)
                }
                serving.cancel()
            }
        }
        registering.cancel()
        // Deregistering again is harmless; this one runs when serving ended by itself. It
        // runs in a task of its own, which a cancellation of this one does not reach.
        await Task {
            if let registration = try? await registering.value { try? await registration.deregister() }
        }.value
        await watcher.value
        if let failure = registrationFailure.withLock({ $0 }) { throw failure }
        try result.get()
    }
}
