/// A server interceptor that also hears of calls to methods the server does not serve.
///
/// Such calls are answered UNIMPLEMENTED before any interceptor runs (an auth interceptor
/// would otherwise turn them into UNAUTHENTICATED, and no handler exists to call). Metrics
/// still want to count them: gRFC A66 records them under the method `other`, so that a client
/// probing random paths cannot grow a label per path.
public protocol UnimplementedCallObserver: Sendable {
    /// A call to `method` (the path as the client sent it) was answered UNIMPLEMENTED.
    func observeUnimplementedCall(_ method: MethodDescriptor, peer: String?)
}
