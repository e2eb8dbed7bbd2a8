// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "GettingStarted",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sluice", path: "../.."),
    ],
    targets: [
        // echo.proto becomes Swift at build time. Its service needs Sluice beside SluiceProto.
        .target(
            name: "EchoAPI",
            dependencies: [
                .product(name: "SluiceProto", package: "sluice"),
                .product(name: "Sluice", package: "sluice"),
            ],
            plugins: [.plugin(name: "SluiceProtoGenerator", package: "sluice")]
        ),
        // The service, written against the generated ServiceProtocol.
        .target(name: "EchoServer", dependencies: ["EchoAPI"]),
        // Serves it over HTTP/2 and calls each method, then does the same in process.
        .executableTarget(
            name: "echo-demo",
            dependencies: ["EchoServer", .product(name: "SluiceHTTP2", package: "sluice")]
        ),
        // The service in process, and code that uses the client tested against fakes.
        .testTarget(name: "EchoTests", dependencies: ["EchoServer"]),
    ],
    swiftLanguageModes: [.v6]
)
