import Sluice
import SluiceProto
import Synchronization

/// The standard gRPC health service (`grpc.health.v1.Health`), ready to serve:
///
///     let health = HealthService()
///     let server = GRPCServer(transport: transport, services: [orders, health])
///     health.setStatus(.notServing, for: "orders.v1.Orders")   // while warming up
///     health.setStatus(.serving, for: "orders.v1.Orders")
///
/// The empty service name stands for the whole server and starts SERVING, as grpc-go's health
/// server does. `Check` answers NOT_FOUND for a service with no status; `Watch` sends the
/// status at once (SERVICE_UNKNOWN for an unknown service, without ending the call) and then
/// every change. A watcher that reads slowly gets the latest status, never a backlog.
public final class HealthService: Grpc_Health_V1_Health.ServiceProtocol, Sendable {
    /// A service's serving status.
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var watchers: [String: [Int: AsyncStream<ServingStatus>.Continuation]] = [:]
        var nextID = 0
        var shutDown = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets the status of `service` (the empty name for the whole server) and tells its
    /// watchers. After ``shutDown()`` statuses stay NOT_SERVING.
    public func setStatus(_ status: ServingStatus, for service: String = "") {
        let watchers = state.withLock { state -> [AsyncStream<ServingStatus>.Continuation] in
            guard !state.shutDown else { return [] }
            state.statuses[service] = status
            return Array((state.watchers[service] ?? [:]).values)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Forgets the status of `service`: Check answers NOT_FOUND, watchers see SERVICE_UNKNOWN.
    public func clearStatus(for service: String) {
        let watchers = state.withLock { state -> [AsyncStream<ServingStatus>.Continuation] in
            state.statuses[service] = nil
            return Array((state.watchers[service] ?? [:]).values)
        }
        for watcher in watchers { watcher.yield(.serviceUnknown) }
    }

    /// The status of `service`, nil if it has none.
    public func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Sets every service NOT_SERVING and ignores later changes: for a server about to stop,
    /// so that health-checking clients move away first. Each `Watch` is sent NOT_SERVING and
    /// then ends (OK), as a watch would otherwise hold a draining server open until its grace
    /// period ran out; a `Watch` begun later sends NOT_SERVING and ends too.
    public func shutDown() {
        let watchers = state.withLock { state -> [AsyncStream<ServingStatus>.Continuation] in
            state.shutDown = true
            for service in state.statuses.keys { state.statuses[service] = .notServing }
            return state.watchers.values.flatMap(\.values)
        }
        for watcher in watchers {
            watcher.yield(.notServing)
            watcher.finish()
        }
    }

    // MARK: grpc.health.v1.Health

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = status
        return response
    }

    public func watch(request: Grpc_Health_V1_HealthCheckRequest, responses: MessageWriter<Grpc_Health_V1_HealthCheckResponse>,
                      context: ServerContext) async throws {
        let service = request.service
        // Newest only: a slow watcher skips to the current status.
        let (updates, continuation) = AsyncStream<ServingStatus>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextID
            state.nextID += 1
            state.watchers[service, default: [:]][id] = continuation
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            if state.shutDown { continuation.finish() }
            return id
        }
        defer { _ = state.withLock { $0.watchers[service]?.removeValue(forKey: id) } }
        var last: ServingStatus?
        // Ends when the call is cancelled: the client went away or the server is stopping.
        try await withTaskCancellationHandler {
            for await status in updates where status != last {
                last = status
                var response = Grpc_Health_V1_HealthCheckResponse()
                response.status = status
                try await responses.write(response)
            }
        } onCancel: {
            continuation.finish()
        }
    }
}

extension GRPCServer {
    /// The server's status now, each service's health (and the whole server's) from `health`.
    public func statusSnapshot(health: HealthService) -> ServerStatusSnapshot {
        statusSnapshot(health: { name in health.status(of: name).map(Self.protoName) })
    }

    /// The status's name in health.proto, as other implementations print it.
    private static func protoName(_ status: HealthService.ServingStatus) -> String {
        switch status {
        case .unknown: return "UNKNOWN"
        case .serving: return "SERVING"
        case .notServing: return "NOT_SERVING"
        case .serviceUnknown: return "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let value): return "\(value)"
        }
    }
}
