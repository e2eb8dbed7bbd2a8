// swift-tools-version: 6.1
// An application target whose .proto files become Swift at build time through Sluice's
// SwiftPM build plugin: the only line it needs is the `plugins:` entry below.
import Foundation
import PackageDescription

// The Sluice checkout two levels up; SwiftPM names a path dependency after its folder.
let sluiceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "PluginDemo",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "PluginDemo",
            dependencies: [.product(name: "SluiceProto", package: sluiceFolder.lastPathComponent)],
            plugins: [.plugin(name: "SluiceProtoGenerator", package: sluiceFolder.lastPathComponent)]
        )
    ],
    swiftLanguageModes: [.v6]
)
