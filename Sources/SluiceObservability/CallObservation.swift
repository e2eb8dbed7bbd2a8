import Sluice

/// How a client call ended, for interceptors that report it.
struct ClientCallOutcome: Sendable {
    var error: RPCError?
    var attempts: Int
    var statistics: CallStatistics
}

/// Runs a client call through `next` and calls `finish` once when it ends: at once if no
/// stream could be opened, else when its status arrives.
func observeClientCall<Input: Sendable, Output: Sendable>(
    _ request: StreamingClientRequest<Input>, _ context: ClientContext,
    _ next: @Sendable (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>,
    finish: @escaping @Sendable (ClientCallOutcome) -> Void
) async throws -> StreamingClientResponse<Output> {
    let response: StreamingClientResponse<Output>
    do {
        response = try await next(request, context)
    } catch {
        // Failed before a stream opened (no connection, deadline, an inner interceptor).
        finish(ClientCallOutcome(error: error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"), attempts: 1,
                                 statistics: CallStatistics()))
        throw error
    }
    response.end.whenSet { end in
        finish(ClientCallOutcome(error: end.error, attempts: response.attempts, statistics: response.statistics))
    }
    return response
}

/// Runs a server call through `next` and calls `finish` once when the handler is done, with
/// the status it ends the call with (nil for OK).
func observeServerCall<Input: Sendable, Output: Sendable>(
    _ request: StreamingServerRequest<Input>, _ context: ServerContext,
    _ next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>,
    finish: @escaping @Sendable (RPCError?) -> Void
) async throws -> StreamingServerResponse<Output> {
    let response: StreamingServerResponse<Output>
    do {
        response = try await next(request, context)
    } catch {
        finish(serverStatus(of: error))
        throw error
    }
    var observed = response
    observed.producer = { writer in
        do {
            let trailers = try await response.producer(writer)
            finish(nil)
            return trailers
        } catch {
            finish(serverStatus(of: error))
            throw error
        }
    }
    return observed
}

/// The status a handler's error ends the call with, as the server sends it.
func serverStatus(of error: any Error) -> RPCError {
    if let error = error as? RPCError { return error }
    if error is CancellationError { return RPCError(code: .cancelled, message: "the call was cancelled") }
    return RPCError(code: .unknown, message: "\(error)")
}

extension Duration {
    /// Whole nanoseconds, as swift-metrics' timers take them.
    var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
