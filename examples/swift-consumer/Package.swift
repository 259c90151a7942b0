// swift-tools-version:5.9
// A user's package: one dependency on the Hopsafe package, as `cargo xtask dist` writes it to
// target/dist/swift/Hopsafe (a published copy would be `.package(url: ..., from: "0.1.0")`).
// `cargo xtask test --only swift` builds it and runs the quick start against the lab test server.
import PackageDescription

let package = Package(
    name: "QuickStart",
    platforms: [.macOS(.v12), .iOS(.v15)],
    dependencies: [.package(name: "Hopsafe", path: "../../target/dist/swift/Hopsafe")],
    targets: [
        .executableTarget(name: "QuickStart", dependencies: [.product(name: "Hopsafe", package: "Hopsafe")]),
    ]
)
