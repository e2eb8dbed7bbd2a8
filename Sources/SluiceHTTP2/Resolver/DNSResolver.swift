import NIOCore
import NIOPosix
import Sluice
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Resolves `dns:///host:port` targets through the system resolver (getaddrinfo: /etc/hosts,
/// then DNS; A and AAAA records), on NIO's blocking-work thread pool so that no event loop and
/// no thread of Swift's cooperative pool waits for it.
///
/// It resolves once when the channel starts, then again when the channel asks (a connection
/// failed or closed), at most once per `minimumInterval` (30 s, as grpc-go).
public struct DNSResolverFactory: NameResolverFactory {
    public let scheme = "dns"
    public var minimumInterval: Duration

    public init(minimumInterval: Duration = .seconds(30)) {
        self.minimumInterval = minimumInterval
    }

    public func makeResolver(for target: ResolverTarget) throws -> any NameResolver {
        let (host, port) = try target.hostAndPort(target.endpoint, defaultPort: 443)
        return DNSResolver(host: host, port: port, minimumInterval: minimumInterval)
    }
}

final class DNSResolver: NameResolver {
    private struct State {
        var continuation: AsyncThrowingStream<ResolutionResult, any Error>.Continuation?
        var lastResolution: ContinuousClock.Instant?
        var pending = false
        var resolvedOnce = false
    }

    let host: String
    let port: Int
    let minimumInterval: Duration
    private let state = Mutex(State())

    init(host: String, port: Int, minimumInterval: Duration) {
        self.host = host
        self.port = port
        self.minimumInterval = minimumInterval
    }

    var updates: any AsyncSequence<ResolutionResult, any Error> & Sendable {
        let (stream, continuation) = AsyncThrowingStream<ResolutionResult, any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.continuation = continuation }
        resolve(after: .zero)
        return stream
    }

    func resolveNow() {
        let delay = state.withLock { state -> Duration? in
            guard !state.pending else { return nil }
            guard let last = state.lastResolution else { return .zero }
            return max(.zero, minimumInterval - (ContinuousClock.now - last))
        }
        if let delay { resolve(after: delay) }
    }

    private func resolve(after delay: Duration) {
        state.withLock { $0.pending = true }
        let host = self.host
        let port = self.port
        Task { [weak self] in
            if delay > .zero { try? await Task.sleep(for: delay) }
            let result: Result<[EndpointAddress], any Error>
            do {
                result = .success(try await NIOThreadPool.singleton.runIfActive { try Self.lookUp(host: host, port: port) })
            } catch {
                result = .failure(error)
            }
            guard let self else { return }
            let (continuation, firstFailure) = self.state.withLock { state in
                state.pending = false
                state.lastResolution = .now
                if case .success = result { state.resolvedOnce = true }
                return (state.continuation, !state.resolvedOnce)
            }
            switch result {
            case .success(let addresses):
                continuation?.yield(ResolutionResult(endpoints: addresses.map { Endpoint($0) }))
            case .failure:
                // A channel that has endpoints keeps them through a failed lookup; one that
                // has none learns there are none, and the lookup is tried again shortly.
                if firstFailure { continuation?.yield(ResolutionResult(endpoints: [])) }
                self.resolve(after: .seconds(1))
            }
        }
    }

    /// getaddrinfo, blocking: run on a thread that may block.
    static func lookUp(host: String, port: Int) throws -> [EndpointAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            let reason = gai_strerror(status).map { String(decoding: UnsafeBufferPointer(start: $0, count: strlen($0)).map { UInt8(bitPattern: $0) }, as: UTF8.self) } ?? "error \(status)"
            throw RPCError(code: .unavailable, message: "DNS resolution of \(host) failed: \(reason)")
        }
        defer { freeaddrinfo(list) }
        var addresses: [EndpointAddress] = []
        var node = list
        while let info = node?.pointee {
            if let address = info.ai_addr {
                switch Int32(info.ai_family) {
                case AF_INET:
                    let socket = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    if let text = SocketAddress.ipv4String(socket.sin_addr) { addresses.append(.ipv4(host: text, port: port)) }
                case AF_INET6:
                    let socket = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    if let text = SocketAddress.ipv6String(socket.sin6_addr) { addresses.append(.ipv6(host: text, port: port)) }
                default:
                    break
                }
            }
            node = info.ai_next
        }
        // getaddrinfo lists an address once per socket type asked for; keep the first of each.
        var seen = Set<EndpointAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

extension SocketAddress {
    static func ipv4String(_ address: in_addr) -> String? {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func ipv6String(_ address: in6_addr) -> String? {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
