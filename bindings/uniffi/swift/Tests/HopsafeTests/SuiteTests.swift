// `swift test`: runs the Swift suite (the HopsafeSuite executable `swift build` made, against the
// test server in HOPSAFE_SERVER_READY) and fails when it fails.

import Foundation
import XCTest

final class SuiteTests: XCTestCase {
    /// The folder `swift build` put the products in.
    private var products: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        return Bundle.main.bundleURL
    }

    func testSuitePasses() throws {
        let exe = products.appendingPathComponent("HopsafeSuite")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            return XCTFail("\(exe.path) is missing: run `swift build` first")
        }
        XCTAssertNotNil(ProcessInfo.processInfo.environment["HOPSAFE_SERVER_READY"],
                        "HOPSAFE_SERVER_READY is not set: run `cargo xtask test --only swift`")
        let suite = Process()
        suite.executableURL = exe
        try suite.run()
        suite.waitUntilExit()
        XCTAssertEqual(suite.terminationStatus, 0, "the Swift suite failed (its output is above)")
    }
}
