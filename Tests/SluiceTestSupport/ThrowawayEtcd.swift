import Foundation

/// etcd members on loopback for a test, from `scripts/throwaway-etcd serve`: they stop, and
/// their data folder goes, when ``stop()`` is called or this test process exits (the script
/// watches its parent).
public final class ThrowawayEtcd: Sendable {
    /// The members' client addresses, `127.0.0.1:PORT`.
    public let endpoints: [String]
    /// The members' data and logs.
    public let directory: URL
    private let server: ChildProcess

    private init(endpoints: [String], directory: URL, server: ChildProcess) {
        self.endpoints = endpoints
        self.directory = directory
        self.server = server
    }

    /// A cluster of `members` (1 or 3) of its own; with `tlsCertificates` (a folder that
    /// `testCertificates()` made), clients must use mutual TLS.
    public static func start(members: Int = 1, tlsCertificates: URL? = nil) async throws -> ThrowawayEtcd {
        let directory = FileManager.default.temporaryDirectory.appending(path: "sluice-etcd-\(getpid())-\(UUID().uuidString.prefix(8))")
        let environment = tlsCertificates.map { ProcessInfo.processInfo.environment.merging(["THROWAWAY_ETCD_TLS": $0.path]) { $1 } }
        let server = try ChildProcess(repositoryRoot.appending(path: "scripts/throwaway-etcd").path,
                                      ["serve", directory.path, "\(members)"], environment: environment)
        let line: String
        do {
            line = try await server.waitForLine(containing: "127.0.0.1:", timeout: .seconds(90))
        } catch {
            await server.kill()
            throw error
        }
        let endpoints = line.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        return ThrowawayEtcd(endpoints: endpoints, directory: directory, server: server)
    }

    private static let sharedCluster = AsyncOnce<ThrowawayEtcd>()

    /// One single-member etcd shared by this test process's tests (each keeps to key
    /// prefixes of its own).
    public static func shared() async throws -> ThrowawayEtcd {
        try await sharedCluster.get { try await start() }
    }

    /// `etcd://` and the endpoints, as `--registry` takes them.
    public var url: String { "etcd://" + endpoints.joined(separator: ",") }

    /// SIGKILLs member `n`; returns when it has exited.
    public func kill(member n: Int) async throws {
        try await script("kill", n)
    }

    /// Starts member `n` again, with its data and ports; returns when it is healthy.
    public func restart(member n: Int) async throws {
        try await script("restart", n)
    }

    /// Runs `etcdctl` (API v3) against the members; returns its output, or throws with it.
    public func etcdctl(_ arguments: [String]) async throws -> String {
        let result = try await run("etcdctl", ["--endpoints", endpoints.joined(separator: ",")] + arguments,
                                   environment: ProcessInfo.processInfo.environment.merging(["ETCDCTL_API": "3"]) { $1 })
        guard result.status == 0 else {
            throw ChildProcessError(description: "etcdctl \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output
    }

    /// Stops every member and removes their data.
    public func stop() async {
        _ = try? await run(repositoryRoot.appending(path: "scripts/throwaway-etcd").path, ["stop", directory.path])
        await server.kill(SIGKILL)
    }

    private func script(_ command: String, _ member: Int) async throws {
        let result = try await run(repositoryRoot.appending(path: "scripts/throwaway-etcd").path, [command, directory.path, "\(member)"])
        guard result.status == 0 else {
            throw ChildProcessError(description: "throwaway-etcd \(command) \(member) failed: \(result.output)")
        }
    }
}
