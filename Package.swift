// swift-tools-version: 6.1
import PackageDescription

// Layout: hand-written code lives in Sources/, the plugin's committed output in Generated/.
let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SluiceProto", targets: ["SluiceProto"]),
        .library(name: "SluiceDescriptors", targets: ["SluiceDescriptors"]),
        .library(name: "Sluice", targets: ["Sluice"]),
        .library(name: "SluiceHTTP2", targets: ["SluiceHTTP2"]),
        .library(name: "SluiceHealth", targets: ["SluiceHealth"]),
        .library(name: "SluiceObservability", targets: ["SluiceObservability"]),
        .library(name: "SluiceReflection", targets: ["SluiceReflection"]),
        .library(name: "SluicePrometheus", targets: ["SluicePrometheus"]),
        .library(name: "SluiceServiceLifecycle", targets: ["SluiceServiceLifecycle"]),
        .library(name: "SluiceEtcd", targets: ["SluiceEtcd"]),
        .executable(name: "protoc-gen-swift-grpc", targets: ["protoc-gen-swift-grpc"]),
        .executable(name: "interop-server", targets: ["interop-server"]),
        .executable(name: "interop-client", targets: ["interop-client"]),
        .plugin(name: "SluiceProtoGenerator", targets: ["SluiceProtoGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: the DocC catalogues of the library modules.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Wire format, the Message protocol and the well-known types.
        // (Sources/SluiceProto/Generated links to Generated/SluiceProto.)
        .target(name: "SluiceProto"),
        // Status, metadata, call options, deadlines, interceptors, client and server call
        // machinery, the in-process transport. Knows no NIO.
        .target(name: "Sluice", dependencies: ["SluiceProto", .product(name: "Logging", package: "swift-log")]),
        // Logging, metrics and tracing interceptors on the swift-server APIs.
        .target(name: "SluiceObservability", dependencies: [
            "Sluice", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Instrumentation", package: "swift-distributed-tracing"),
        ]),
        // A66's instruments in Prometheus's names, served as GET /metrics on a port of its own.
        .target(name: "SluicePrometheus", dependencies: [
            "Sluice", "SluiceObservability", .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Servers and clients as swift-service-lifecycle services: SIGTERM drains, then exits.
        .target(name: "SluiceServiceLifecycle", dependencies: [
            "Sluice", "SluiceHealth", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // gRPC over HTTP/2 on swift-nio-http2, TLS on swift-nio-ssl.
        .target(
            name: "SluiceHTTP2",
            dependencies: [
                "Sluice",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // The standard health service (grpc.health.v1), generated from grpc-proto's health.proto.
        // (Sources/SluiceHealth/Generated links to Generated/SluiceHealth.)
        .target(name: "SluiceHealth", dependencies: ["Sluice", "SluiceProto"]),
        // Discovery and leader election on etcd, through etcd's gRPC API as generated from
        // Protos/etcd. (Sources/SluiceEtcd/Generated links to Generated/SluiceEtcd.)
        .target(name: "SluiceEtcd", dependencies: [
            "Sluice", "SluiceProto", "SluiceHTTP2", .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // Server reflection (grpc.reflection.v1 and v1alpha) from the descriptors generated code
        // embeds. (Sources/SluiceReflection/Generated links to Generated/SluiceReflection.)
        .target(name: "SluiceReflection", dependencies: ["Sluice", "SluiceProto", "SluiceDescriptors"]),
        // descriptor.proto and plugin.proto, generated by protoc-gen-swift-grpc itself.
        .target(
            name: "SluiceDescriptors",
            dependencies: ["SluiceProto"],
            path: "Generated/SluiceDescriptors"
        ),
        // Descriptors -> model -> view model -> Mustache templates (embedded in EmbeddedTemplates.swift).
        .target(
            name: "SluiceCodeGen",
            dependencies: [
                "SluiceProto",
                "SluiceDescriptors",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "protoc-gen-swift-grpc",
            dependencies: ["SluiceCodeGen"]
        ),
        // Turns Templates/*.mustache into Swift string literals (scripts/regenerate runs it), so
        // the plugin binary runs alone. Not a build-tool plugin: SwiftPM skips those for targets
        // built as tools of another plugin, which is how applications build this generator.
        .executableTarget(name: "sluice-embed-templates"),
        // For applications: turns a target's .proto files into Swift at build time.
        .plugin(
            name: "SluiceProtoGenerator",
            capability: .buildTool(),
            dependencies: ["protoc-gen-swift-grpc"]
        ),

        // Messages generated from Protos/ for tests, examples and cross-checks.
        .target(
            name: "SluiceTestMessages",
            dependencies: ["SluiceProto"],
            path: "Generated/SluiceTestMessages"
        ),
        .target(
            name: "InteropMessages",
            dependencies: ["SluiceProto", "Sluice"],
            path: "Generated/InteropMessages"
        ),
        // The gRPC interop test service and client test cases, and their executables.
        .target(
            name: "SluiceInterop",
            dependencies: [
                "InteropMessages", "Sluice", "SluiceHTTP2",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "interop-server",
            dependencies: ["SluiceInterop", "SluiceHealth", "SluiceReflection", "SluiceObservability", "SluicePrometheus",
                           "SluiceServiceLifecycle", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Registrations and campaigns in processes of their own, for the etcd tests to kill and pause.
        .executableTarget(
            name: "etcd-node",
            dependencies: ["SluiceEtcd", "Sluice", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "interop-client",
            dependencies: ["SluiceInterop", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "SeedServices",
            // SluiceDescriptors: sluice/rest imports google/api/annotations.proto.
            dependencies: ["SluiceProto", "Sluice", "SluiceDescriptors"],
            path: "Generated/SeedServices"
        ),

        .testTarget(
            name: "SluiceProtoTests",
            dependencies: ["SluiceProto", "SluiceTestMessages", "SeedServices", "SluiceTestSupport"]
        ),
        // Services and helpers the call tests share.
        .target(
            name: "SluiceTestSupport",
            dependencies: ["Sluice", "SluiceProto", "SeedServices", .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/SluiceTestSupport"
        ),
        .testTarget(
            name: "SluiceTests",
            dependencies: ["Sluice", "SluiceProto", "SeedServices", "SluiceTestSupport"]
        ),
        .testTarget(
            name: "SluiceHTTP2Tests",
            dependencies: ["SluiceHTTP2", "Sluice", "SluiceProto", "SeedServices", "SluiceTestSupport", "SluiceHealth",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "SluicePrometheusTests",
            dependencies: ["SluicePrometheus", "SluiceObservability", "SluiceHTTP2", "Sluice", "SeedServices", "SluiceTestSupport",
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "SluiceReflectionTests",
            dependencies: ["SluiceReflection", "SluiceHTTP2", "Sluice", "SluiceProto", "SluiceDescriptors", "SeedServices",
                           "SluiceTestMessages", "SluiceHealth", "SluiceTestSupport"]
        ),
        .testTarget(
            name: "SluiceObservabilityTests",
            dependencies: ["SluiceObservability", "SluiceHTTP2", "Sluice", "SeedServices", "SluiceTestSupport",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics"),
                           .product(name: "Tracing", package: "swift-distributed-tracing"),
                           .product(name: "InMemoryTracing", package: "swift-distributed-tracing")]
        ),
        // Runs the interop executables against Python grpcio, as processes.
        .testTarget(
            name: "InteropTests",
            dependencies: ["interop-server", "interop-client", "SluiceInterop", "SluiceTestSupport", "InteropMessages", "Sluice", "SluiceHTTP2",
                           "SluiceHealth"]
        ),
        // Against real etcd members (scripts/throwaway-etcd), and processes of etcd-node.
        .testTarget(
            name: "SluiceEtcdTests",
            dependencies: ["SluiceEtcd", "etcd-node", "Sluice", "SluiceHTTP2", "SluiceTestSupport", "SeedServices",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SluiceCodeGenTests",
            dependencies: ["SluiceCodeGen", "SluiceDescriptors", "protoc-gen-swift-grpc", "SluiceTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
