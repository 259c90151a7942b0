// Test support: the test server started by `cargo xtask test`, /echo parsing, a tiny runner.

import Foundation
import Hopsafe

/// The test server (ready line in `HOPSAFE_SERVER_READY`).
enum Server {
    static let ready: [String: Any] = {
        guard let line = ProcessInfo.processInfo.environment["HOPSAFE_SERVER_READY"],
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { fatalError("HOPSAFE_SERVER_READY is not set: run `cargo xtask test --only swift`") }
        return json
    }()

    /// The base URL of an origin label (`a`, `b`, `tls`, ...).
    static func origin(_ label: String) -> String {
        (ready["origins"] as! [String: String])[label]!
    }

    /// The CA that signed the server's certificates.
    static var caPem: String { ready["ca_pem"] as! String }

    /// `{origin}/redirect/{status}?to={target}`.
    static func redirect(_ origin: String, _ status: Int, to: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "\(origin)/redirect/\(status)?to=" + to.addingPercentEncoding(withAllowedCharacters: allowed)!
    }

    /// Registers a script and returns its id.
    static func script(_ stepsJson: String) async throws -> String {
        let client = try HopsafeClient(config: ClientConfig())
        let resp = try await client.request(request: HttpRequest(
            method: "POST", url: origin("a") + "/__scripts",
            headers: [Header(name: "content-type", value: "application/json")],
            body: Data("{\"steps\":\(stepsJson)}".utf8), idempotencyKey: .off))
        let json = try JSONSerialization.jsonObject(with: resp.body) as! [String: Any]
        return json["id"] as! String
    }
}

/// What `/echo` saw.
struct Echo {
    let json: [String: Any]
    init(_ resp: HttpResponse) throws {
        json = try JSONSerialization.jsonObject(with: resp.body) as! [String: Any]
    }
    var method: String { json["method"] as! String }
    var body: String? { json["body"] as? String }
    var bodyLen: Int { json["body_len"] as! Int }
    func header(_ name: String) -> [String] {
        (json["headers"] as! [String: [String]])[name] ?? []
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
}

/// Fails the current test unless `cond` holds.
func check(_ cond: Bool, _ what: @autoclosure () -> String, line: Int = #line) throws {
    if !cond { throw Failure(description: "line \(line): \(what())") }
}

/// Runs `body` and returns the error it throws, failing if it returns normally.
func expectError<T>(_ line: Int = #line, _ body: () async throws -> T) async throws -> Error {
    do {
        _ = try await body()
    } catch {
        return error
    }
    throw Failure(description: "line \(line): expected an error, got a result")
}

/// Whether `error` is the HopsafeError case named `name` (the core's error name).
func isCase(_ error: Error, _ name: String) -> Bool {
    guard let e = error as? HopsafeError else { return false }
    return "\(e)".hasPrefix(name + "(")
}

/// Runs every test, prints `N passed, N failed`, exits non-zero on failure.
func runAll(_ tests: [(String, () async throws -> Void)]) async -> Never {
    var passed = 0
    var failed = 0
    for (name, test) in tests {
        do {
            try await test()
            passed += 1
            print("ok   \(name)")
        } catch {
            failed += 1
            print("FAIL \(name): \(error)")
        }
    }
    print("\(passed) passed, \(failed) failed")
    exit(failed == 0 ? 0 : 1)
}
