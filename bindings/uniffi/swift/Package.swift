// swift-tools-version:5.9
// hopsafe for Swift: the library product `Hopsafe` (the uniffi-generated `Hopsafe.swift` plus
// the hand-written sources in Sources/Hopsafe) over the Rust library `hopsafe_ffi`, reached
// through the C module `hopsafe_ffiFFI`:
// - with `hopsafe_ffiFFI.xcframework` next to this file (Apple platforms; static slices for
//   iOS, the iOS simulator and macOS): a binary target;
// - otherwise (Linux, or macOS from a local build): a system-library target over the generated
//   header, linking `lib/libhopsafe_ffi.so` (`.dylib` on macOS) from this package's folder.
// `cargo xtask dist` writes a complete copy of this package (generated sources, header, library
// or XCFramework) to target/dist/swift/Hopsafe; depend on it with `.package(path:)` or publish it.
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let xcframework = FileManager.default.fileExists(atPath: here + "/hopsafe_ffiFFI.xcframework")
// The suite, the conformance runner and their XCTest driver ship in the repository only.
let withTests = FileManager.default.fileExists(atPath: here + "/Tests/HopsafeSuite/main.swift")

let ffi: Target = xcframework
    ? .binaryTarget(name: "hopsafe_ffiFFI", path: "hopsafe_ffiFFI.xcframework")
    : .systemLibrary(name: "hopsafe_ffiFFI", path: "Sources/hopsafe_ffiFFI")

// Rust's static library also needs libiconv on Apple platforms (rustc's native-static-libs).
let linkLocalLibrary: [LinkerSetting] = xcframework ? [.linkedLibrary("iconv")] : [
    .unsafeFlags(["-L", here + "/lib", "-Xlinker", "-rpath", "-Xlinker", here + "/lib"]),
]

var targets: [Target] = [
    ffi,
    .target(
        name: "Hopsafe",
        dependencies: ["hopsafe_ffiFFI"],
        path: "Sources/Hopsafe",
        linkerSettings: linkLocalLibrary
    ),
]
if withTests {
    targets += [
        .executableTarget(name: "HopsafeSuite", dependencies: ["Hopsafe"], path: "Tests/HopsafeSuite"),
        .executableTarget(name: "HopsafeConformance", dependencies: ["Hopsafe"], path: "Tests/HopsafeConformance"),
        .testTarget(name: "HopsafeTests", path: "Tests/HopsafeTests"),
    ]
}

let package = Package(
    name: "Hopsafe",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [.library(name: "Hopsafe", targets: ["Hopsafe"])],
    targets: targets
)
