import Sluice
import Testing

@Suite("Targets (gRPC naming.md)")
struct ResolverTargetTests {
    @Test("each form parses into scheme, authority and endpoint", arguments: [
        ("dns:///api.example.com:443", "dns", "", "api.example.com:443"),
        ("api.example.com:443", "dns", "", "api.example.com:443"),
        ("localhost:50051", "dns", "", "localhost:50051"),
        ("[::1]:50051", "dns", "", "[::1]:50051"),
        ("ipv4:10.0.0.1:50051,10.0.0.2:50052", "ipv4", "", "10.0.0.1:50051,10.0.0.2:50052"),
        ("ipv6:[::1]:50051,[fe80::1]:7", "ipv6", "", "[::1]:50051,[fe80::1]:7"),
        ("unix:relative/socket", "unix", "", "relative/socket"),
        ("unix:///tmp/app.sock", "unix", "", "/tmp/app.sock"),
        ("unix-abstract:sluice", "unix-abstract", "", "sluice"),
        ("DNS:///Upper.example:1", "dns", "", "Upper.example:1"),
    ])
    func parses(text: String, scheme: String, authority: String, endpoint: String) throws {
        let target = try ResolverTarget(parsing: text)
        #expect(target.scheme == scheme)
        #expect(target.authority == authority)
        #expect(target.endpoint == endpoint)
    }

    @Test("literal targets resolve to their addresses, with 443 as the default port")
    func literalAddresses() throws {
        #expect(try ResolverTarget(parsing: "ipv4:10.0.0.1:50051,10.0.0.2").literalAddresses()
            == [.ipv4(host: "10.0.0.1", port: 50051), .ipv4(host: "10.0.0.2", port: 443)])
        #expect(try ResolverTarget(parsing: "ipv6:[::1]:5,::ffff:10.0.0.1").literalAddresses()
            == [.ipv6(host: "::1", port: 5), .ipv6(host: "::ffff:10.0.0.1", port: 443)])
        #expect(try ResolverTarget(parsing: "unix:///tmp/s").literalAddresses() == [.unixDomainSocket(path: "/tmp/s")])
        #expect(try ResolverTarget(parsing: "dns:///x:1").literalAddresses() == nil)
    }

    @Test("a bad target is an error naming the part that is wrong", arguments: [
        ("", "the target is empty"),
        ("dns://8.8.8.8/example.com:443", "an explicit DNS server (authority '8.8.8.8') is not supported"),
        ("ipv4:10.0.0:80", "'10.0.0' is not an IPv4 address"),
        ("ipv4:10.0.0.1:99999", "port '99999' of '10.0.0.1:99999' is not a number from 0 to 65535"),
        ("ipv6:[::1:80", "'[::1:80' opens '[' without closing it"),
        ("ipv6:[::g]:80", "'::g' is not an IPv6 address"),
        ("ipv4:1.2.3.4:80,", "'' has no host"),
        ("unix:", "the socket path is empty"),
        ("example.com:http", "port 'http' of 'example.com:http' is not a number from 0 to 65535"),
        ("dns://example.com", "'//' must be followed by an authority and '/'"),
    ])
    func rejects(text: String, problem: String) {
        do {
            _ = try ResolverTarget(parsing: text)
            Issue.record("'\(text)' parsed")
        } catch let error as ResolverTargetError {
            #expect(error.target == text)
            #expect(error.problem.contains(problem), "\(error.problem)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("IPv4 and IPv6 literals are recognised in their textual forms")
    func addressForms() {
        for good in ["0.0.0.0", "255.255.255.255", "127.0.0.1"] { #expect(EndpointAddress.isIPv4(good), "\(good)") }
        for bad in ["256.0.0.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "", "01234.1.1.1"] { #expect(!EndpointAddress.isIPv4(bad), "\(bad)") }
        for good in ["::", "::1", "fe80::1", "2001:db8::8a2e:370:7334", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1"] {
            #expect(EndpointAddress.isIPv6(good), "\(good)")
        }
        for bad in ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1.2.3.4", "1:2:3:4:5:6:7"] {
            #expect(!EndpointAddress.isIPv6(bad), "\(bad)")
        }
    }
}

@Suite("Name resolvers")
struct NameResolverTests {
    func first(_ resolver: any NameResolver) async throws -> ResolutionResult? {
        for try await result in resolver.updates { return result }
        return nil
    }

    @Test("the registry resolves literal targets without a network, and names unknown schemes")
    func literal() async throws {
        let registry = NameResolverRegistry()
        let (target, resolver) = try registry.makeResolver(for: "ipv4:127.0.0.1:5000,127.0.0.2:5001")
        #expect(target.scheme == "ipv4")
        let result = try await first(resolver)
        #expect(result?.endpoints == [Endpoint(.ipv4(host: "127.0.0.1", port: 5000)), Endpoint(.ipv4(host: "127.0.0.2", port: 5001))])
        // dns is the transport's to register (SluiceHTTP2); a bare registry names the gap.
        #expect(throws: ResolverTargetError(target: "localhost:1", problem: "no resolver for scheme 'dns' is registered")) {
            _ = try registry.makeResolver(for: "localhost:1")
        }
    }

    @Test("the in-memory registry pushes every change to each resolver of the service")
    func inMemory() async throws {
        let services = InMemoryServiceRegistry()
        var registry = NameResolverRegistry()
        registry.register(services)
        let one = Endpoint(.ipv4(host: "127.0.0.1", port: 1), attributes: ["zone": "a"])
        let two = Endpoint(.ipv4(host: "127.0.0.1", port: 2))
        services.set([one], for: "orders")
        let (target, resolver) = try registry.makeResolver(for: "memory:///orders")
        #expect(target.endpoint == "orders")
        var updates = resolver.updates.makeAsyncIterator()
        #expect(try await updates.next(isolation: nil)?.endpoints == [one])
        services.set([one, two], for: "orders")
        #expect(try await updates.next(isolation: nil)?.endpoints == [one, two])
        services.set([], for: "other")
        services.set([two], for: "orders")
        #expect(try await updates.next(isolation: nil)?.endpoints == [two])
        #expect(services.endpoints(of: "orders") == [two])
    }
}
