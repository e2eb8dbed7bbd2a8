// swift-tools-version: 6.2
import PackageDescription

// Spooled (seed 004): a durable job queue served over gRPC by Sluice, on SQLite (embedded, the
// default) or PostgreSQL (several servers on one database), with its worker and load tool.
let package = Package(
    name: "Spooled",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spooled-server", targets: ["spooled-server"]),
        .executable(name: "spooled-worker", targets: ["spooled-worker"]),
        .executable(name: "spooled-load", targets: ["spooled-load"]),
    ],
    dependencies: [
        .package(name: "sluice", path: "../.."),
        // SQLite through GRDB: a WAL-mode pool (one writer, concurrent readers) whose async
        // accessors run on GRDB's own queues, never on Swift's cooperative pool.
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // spooled.proto becomes Swift at build time (SwiftPM needs one Swift file in the target).
        // It imports google/api/annotations.proto (from Sluice's Protos/, which the build
        // plugin puts on protoc's path), whose types live in SluiceDescriptors.
        .target(
            name: "SpooledAPI",
            dependencies: [
                .product(name: "SluiceProto", package: "sluice"),
                .product(name: "Sluice", package: "sluice"),
                .product(name: "SluiceDescriptors", package: "sluice"),
            ],
            plugins: [.plugin(name: "SluiceProtoGenerator", package: "sluice")]
        ),
        // The stores, the tenants and their keys, and the two gRPC services.
        .target(
            name: "SpooledQueue",
            dependencies: [
                "SpooledAPI",
                .product(name: "Sluice", package: "sluice"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "spooled-server",
            dependencies: [
                "SpooledQueue",
                .product(name: "SluiceHTTP2", package: "sluice"),
                .product(name: "SluiceEtcd", package: "sluice"),
                .product(name: "SluiceHealth", package: "sluice"),
                .product(name: "SluiceReflection", package: "sluice"),
                .product(name: "SluiceObservability", package: "sluice"),
                .product(name: "SluicePrometheus", package: "sluice"),
                .product(name: "SluiceServiceLifecycle", package: "sluice"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The worker's loop (concurrency, lease renewal, reconnects, graceful stop) is a library
        // so that the soak test runs it in process as well as through the executable.
        .target(
            name: "SpooledWorker",
            dependencies: [
                "SpooledAPI",
                .product(name: "Sluice", package: "sluice"),
                .product(name: "SluiceHTTP2", package: "sluice"),
                .product(name: "SluiceObservability", package: "sluice"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "spooled-worker",
            dependencies: [
                "SpooledWorker",
                .product(name: "SluiceEtcd", package: "sluice"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "spooled-load",
            dependencies: [
                "SpooledQueue", "SpooledWorker",
                .product(name: "SluiceHTTP2", package: "sluice"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SpooledQueueTests",
            dependencies: [
                "SpooledQueue", "SpooledWorker", "spooled-server", "spooled-worker",
                .product(name: "SluiceHTTP2", package: "sluice"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
