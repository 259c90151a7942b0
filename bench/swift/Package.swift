// swift-tools-version:5.9
// The Swift streamed-download row of `cargo xtask bench` (`--only swift-stream`): one
// executable over the Hopsafe package, which xtask lays out beside this file (Hopsafe/, with
// the release library) inside the Swift root before `swift build -c release`.
import PackageDescription

let package = Package(
    name: "StreamBench",
    dependencies: [.package(name: "Hopsafe", path: "Hopsafe")],
    targets: [
        .executableTarget(name: "StreamBench", dependencies: [.product(name: "Hopsafe", package: "Hopsafe")]),
    ]
)
