// swift-tools-version: 6.1
// Benchmarks, in their own package so they never slow the main build.
//   swift run -c release sluice-benchmarks
import Foundation
import PackageDescription

let sluice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "SluiceBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "SluiceBenchMessages",
            dependencies: [.product(name: "SluiceProto", package: sluice), .product(name: "Sluice", package: sluice)]
        ),
        .target(
            name: "SwiftProtobufBenchMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Counts malloc calls by defining malloc and friends in the executable itself.
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "sluice-benchmarks",
            dependencies: [
                "SluiceBenchMessages", "SwiftProtobufBenchMessages", "AllocationCounter",
                .product(name: "SluiceProto", package: sluice),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // RPCs: Sluice against grpc-swift 2 over HTTP/2 on loopback.
        .executableTarget(
            name: "rpc-benchmarks",
            dependencies: [
                "SluiceBenchMessages", "SwiftProtobufBenchMessages", "AllocationCounter",
                .product(name: "Sluice", package: sluice),
                .product(name: "SluiceHTTP2", package: sluice),
                .product(name: "SluiceObservability", package: sluice),
                .product(name: "SluicePrometheus", package: sluice),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // The Sluice half of rpc-benchmarks' unary run, in one process, for heaptrack and perf.
        .executableTarget(
            name: "rpc-profile",
            dependencies: [
                "SluiceBenchMessages",
                .product(name: "Sluice", package: sluice),
                .product(name: "SluiceHTTP2", package: sluice),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
