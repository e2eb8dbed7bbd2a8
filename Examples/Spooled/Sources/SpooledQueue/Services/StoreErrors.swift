import Sluice

extension RPCError {
    /// The gRPC status for what the store said: a refused lease is FAILED_PRECONDITION (the
    /// caller must not retry it as is), a store that cannot be reached is UNAVAILABLE (the
    /// caller may), and an `RPCError` passes through.
    static func from(store error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: return error
        case let error as JobStoreError:
            switch error {
            case .notFound: return RPCError(code: .notFound, message: error.description)
            case .notLeaseHolder, .leaseExpired: return RPCError(code: .failedPrecondition, message: error.description)
            case .schemaTooNew: return RPCError(code: .failedPrecondition, message: error.description)
            case .unavailable: return RPCError(code: .unavailable, message: error.description)
            }
        case is CancellationError: return RPCError(code: .cancelled, message: "the call was cancelled")
        default: return RPCError(code: .unavailable, message: "the store failed: \(error)")
        }
    }
}

/// Runs `body`, turning whatever the store throws into the call's status.
func storeCall<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw RPCError.from(store: error)
    }
}
