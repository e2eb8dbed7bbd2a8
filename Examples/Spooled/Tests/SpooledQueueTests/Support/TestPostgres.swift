import Foundation
import Logging
import PostgresNIO
import SpooledQueue

/// One throwaway PostgreSQL cluster per test process (`scripts/throwaway-postgres serve`, which
/// stops and removes it when this process ends), and a fresh database per test on it.
actor TestPostgres {
    static let shared = TestPostgres()

    private var starting: Task<(Child, Int), any Error>?
    private var made = 0

    /// The cluster's port, starting the cluster on first use.
    func port() async throws -> Int {
        if starting == nil {
            starting = Task {
                let folder = FileManager.default.temporaryDirectory.appending(path: "spooled-pg-\(getpid())")
                let keeper = try Child(packageRoot.appending(path: "scripts/throwaway-postgres"),
                                       ["serve", folder.path, "--fast"], name: "throwaway-postgres")
                let line = try await keeper.line(containing: nil, timeout: .seconds(120))
                guard let port = Int(line.trimmingCharacters(in: .whitespaces)) else {
                    throw ChildError("throwaway-postgres did not print a port: \(keeper.output)")
                }
                return (keeper, port)
            }
        }
        // Safe: set just above when it was nil.
        return try await starting!.value.1
    }

    /// A new, empty database on the cluster; its location for `--store`.
    func freshDatabase() async throws -> StoreLocation {
        let port = try await port()
        made += 1
        let name = "t\(getpid())_\(made)"
        let created = try await Child(URL(fileURLWithPath: "/usr/bin/psql"),
                                      ["-h", "127.0.0.1", "-p", "\(port)", "-U", "spooled", "-d", "spooled", "-qAt",
                                       "-c", "CREATE DATABASE \(name)"]).exit()
        guard created.status == 0 else { throw ChildError("CREATE DATABASE \(name): \(created.output)") }
        return .postgres(host: "127.0.0.1", port: port, user: "spooled", password: nil, database: name)
    }
}
