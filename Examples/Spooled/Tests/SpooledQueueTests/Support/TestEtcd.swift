import Foundation

/// One throwaway etcd member per test process (the main package's `scripts/throwaway-etcd
/// serve`, which stops it and removes its data when this process ends).
actor TestEtcd {
    static let shared = TestEtcd()

    private var starting: Task<(Child, String), any Error>?

    /// The member's client endpoint (`127.0.0.1:PORT`), starting it on first use.
    func endpoint() async throws -> String {
        if starting == nil {
            starting = Task {
                let folder = FileManager.default.temporaryDirectory.appending(path: "spooled-etcd-\(getpid())")
                let script = packageRoot.appending(path: "../../scripts/throwaway-etcd").standardized
                let keeper = try Child(script, ["serve", folder.path], name: "throwaway-etcd")
                let line = try await keeper.line(containing: nil, timeout: .seconds(60)).trimmingCharacters(in: .whitespaces)
                guard line.hasPrefix("127.0.0.1:") else { throw ChildError("throwaway-etcd did not print an endpoint: \(keeper.output)") }
                return (keeper, line)
            }
        }
        // Safe: set just above when it was nil.
        return try await starting!.value.1
    }

    /// What `etcdctl` prints for `arguments`, against the member.
    func etcdctl(_ arguments: [String]) async throws -> String {
        let endpoint = try await endpoint()
        let result = try await Child(URL(fileURLWithPath: "/usr/bin/etcdctl"), ["--endpoints", endpoint] + arguments,
                                     environment: ["ETCDCTL_API": "3"]).exit()
        guard result.status == 0 else { throw ChildError("etcdctl \(arguments): \(result.output)") }
        return result.output
    }
}
