/// The 17 gRPC status codes (gRPC `doc/statuscodes.md`).
public struct StatusCode: Hashable, Sendable, CustomStringConvertible {
    /// The code's number on the wire (`grpc-status`).
    public let rawValue: Int

    /// A code from its number; nil outside 0...16.
    public init?(rawValue: Int) {
        guard (0...16).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ value: Int) { rawValue = value }

    public static let ok = StatusCode(0)
    public static let cancelled = StatusCode(1)
    public static let unknown = StatusCode(2)
    public static let invalidArgument = StatusCode(3)
    public static let deadlineExceeded = StatusCode(4)
    public static let notFound = StatusCode(5)
    public static let alreadyExists = StatusCode(6)
    public static let permissionDenied = StatusCode(7)
    public static let resourceExhausted = StatusCode(8)
    public static let failedPrecondition = StatusCode(9)
    public static let aborted = StatusCode(10)
    public static let outOfRange = StatusCode(11)
    public static let unimplemented = StatusCode(12)
    public static let `internal` = StatusCode(13)
    public static let unavailable = StatusCode(14)
    public static let dataLoss = StatusCode(15)
    public static let unauthenticated = StatusCode(16)

    /// All codes in numeric order.
    public static let allCases: [StatusCode] = (0...16).map(StatusCode.init)

    public var description: String {
        ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
         "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
         "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"][rawValue]
    }
}
