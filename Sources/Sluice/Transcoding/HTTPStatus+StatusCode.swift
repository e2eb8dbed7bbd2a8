extension StatusCode {
    /// The HTTP status a REST response carries for this gRPC code: the mapping of
    /// `google/rpc/code.proto`, which grpc-gateway and Envoy's transcoder use (NOT_FOUND 404,
    /// INVALID_ARGUMENT 400, UNAUTHENTICATED 401, ...; CANCELLED is nginx's 499).
    public var httpStatus: Int {
        // Indexed by code: 0 OK ... 16 UNAUTHENTICATED.
        Self.httpStatuses[rawValue]
    }

    private static let httpStatuses = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401]
}
