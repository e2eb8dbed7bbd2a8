// swift-tools-version: 6.2
import PackageDescription

// A call chain (client -> Frontend -> Inventory, over HTTP/2 on loopback) traced by Sluice's
// tracing interceptors and exported by swift-otel's OTLP/HTTP exporter: seed 001's tracing
// with a service name, a sampling rate, default tags and an exporter endpoint.
let package = Package(
    name: "Tracing",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sluice", path: "../.."),
        // Only the OTLP/HTTP exporter: the OTLP/gRPC one would bring grpc-swift.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // shop.proto becomes Swift at build time (SwiftPM needs one Swift file in the target).
        .target(
            name: "ShopAPI",
            dependencies: [
                .product(name: "SluiceProto", package: "sluice"),
                .product(name: "Sluice", package: "sluice"),
            ],
            plugins: [.plugin(name: "SluiceProtoGenerator", package: "sluice")]
        ),
        // The two services, the chain, and the OTel wiring.
        .target(
            name: "TracedShop",
            dependencies: [
                "ShopAPI",
                .product(name: "SluiceHTTP2", package: "sluice"),
                .product(name: "SluiceObservability", package: "sluice"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "traced-shop",
            dependencies: ["TracedShop", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Exports to an OTLP/HTTP receiver written with Python's opentelemetry-proto, and
        // checks what it decoded.
        .testTarget(name: "TracedShopTests", dependencies: ["TracedShop"]),
    ],
    swiftLanguageModes: [.v6]
)
