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
    ],
    targets: [
        .target(
            name: "SluiceBenchMessages",
            dependencies: [.product(name: "SluiceProto", package: sluice)]
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
    ],
    swiftLanguageModes: [.v6]
)
