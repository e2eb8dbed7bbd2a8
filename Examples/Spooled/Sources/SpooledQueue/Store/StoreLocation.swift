import Foundation
import Logging
import PostgresNIO

/// Where `spooled-server --store` keeps jobs: `sqlite:PATH` or
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
public enum StoreLocation: Equatable, Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(host: String, port: Int, user: String, password: String?, database: String)

    /// Parses `--store`'s value.
    /// - Throws: ``StoreLocationError`` naming what is wrong.
    public init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreLocationError(text, "sqlite: needs a file path, as in sqlite:/var/lib/spooled/jobs.db") }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw StoreLocationError(text, "expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE")
        }
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw StoreLocationError(text, "the PostgreSQL URL has no host")
        }
        guard let user = url.user, !user.isEmpty else { throw StoreLocationError(text, "the PostgreSQL URL has no user") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreLocationError(text, "the PostgreSQL URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        self = .postgres(host: host, port: url.port ?? 5432, user: user, password: url.password, database: database)
    }

    /// The location as `--store` takes it, without a password.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let host, let port, let user, _, let database): return "postgres://\(user)@\(host):\(port)/\(database)"
        }
    }

    /// Opens the store, creating and migrating its schema.
    public func open(options: JobStoreOptions = JobStoreOptions(), logger: Logger = Logger(label: "spooled.store", factory: { _ in SwiftLogNoOpLogHandler() })) async throws
        -> any JobStore {
        switch self {
        case .sqlite(let path):
            return try await SQLiteJobStore(path: path, options: options)
        case .postgres(let host, let port, let user, let password, let database):
            var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                                             database: database, tls: .disable)
            configuration.options.maximumConnections = 16
            configuration.options.connectTimeout = .seconds(5)
            return try await PostgresJobStore(configuration: configuration, options: options, logger: logger)
        }
    }
}

/// A `--store` value that is not a store location.
public struct StoreLocationError: Error, CustomStringConvertible, Equatable {
    /// What `--store` was given.
    public var text: String
    /// What is wrong with it.
    public var problem: String

    init(_ text: String, _ problem: String) {
        self.text = text
        self.problem = problem
    }

    /// `bad --store 'TEXT': PROBLEM`.
    public var description: String { "bad --store '\(text)': \(problem)" }
}
