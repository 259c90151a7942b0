// The conformance runners' shared part (tests/conformance/PROTOCOL.md): inputs, the client
// config and request of a scenario, observations, and the loop every column runs. The
// columns (main.swift) differ only in how they send the request: `swift` through hopsafe's own
// API (Native.swift), `swift-urlrequest` through `data(for:)`/`bytes(for:)` with a URLRequest
// (URLRequestColumn.swift), and the peer `swift-urlsession` through Foundation's URLSession alone.

import Foundation
import Hopsafe

func load(_ arg: String) throws -> Any {
    let trimmed = arg.trimmingCharacters(in: .whitespaces)
    let data = trimmed.hasPrefix("{") || trimmed.hasPrefix("[")
        ? Data(arg.utf8) : try Data(contentsOf: URL(fileURLWithPath: arg))
    return try JSONSerialization.jsonObject(with: data)
}

func template(_ s: String, _ origins: [String: String]) -> String {
    origins.reduce(s) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
}

func u64(_ v: Any?) -> UInt64? { (v as? NSNumber).map { $0.uint64Value } }
func u32(_ v: Any?) -> UInt32? { (v as? NSNumber).map { $0.uint32Value } }

/// The test server's client certificate and key (PEM), for scenarios with `client_identity`.
var clientIdentity: (cert: String, key: String)?

/// The client config of a scenario.
func clientConfig(_ c: [String: Any], _ origins: [String: String], _ caPem: String) -> ClientConfig {
    var config = ClientConfig(caPem: caPem)
    config.trustedOrigins = (c["trusted_origins"] as? [String] ?? []).map { template($0, origins) }
    config.sensitiveHeaders = c["sensitive_headers"] as? [String] ?? []
    config.keyHonoringOrigins = (c["key_honoring_origins"] as? [String] ?? []).map { template($0, origins) }
    config.sdkName = c["sdk_name"] as? String
    config.proxy = (c["proxy"] as? String).map { template($0, origins) }
    if let v = c["cookies"] as? Bool { config.cookies = v }
    config.maxBodySize = u64(c["max_body_size"])
    if c["client_identity"] as? Bool == true, let id = clientIdentity {
        config.clientCertPem = id.cert
        config.clientKeyPem = id.key
    }
    config.sdkVersion = c["sdk_version"] as? String
    if let v = c["allow_https_downgrade"] as? Bool { config.allowHttpsDowngrade = v }
    if let v = c["follow_redirects"] as? Bool { config.followRedirects = v }
    if let v = u32(c["max_redirects"]) { config.maxRedirects = v }
    if let idem = c["idempotency"] as? [String: Any] {
        if let v = idem["generate"] as? Bool { config.idempotencyKeys = v }
        switch idem["format"] as? String {
        case "bare": config.idempotencyKeyFormat = .bare
        case "quoted": config.idempotencyKeyFormat = .quoted
        default: break
        }
    }
    if let r = c["retry"] as? [String: Any] {
        var retry = RetryConfig()
        if let v = u32(r["max_attempts"]) { retry.maxAttempts = v }
        if let v = u64(r["base_delay_ms"]) { retry.baseDelayMs = v }
        if let v = u64(r["max_delay_ms"]) { retry.maxDelayMs = v }
        if let v = u64(r["max_retry_after_ms"]) { retry.maxRetryAfterMs = v }
        if let v = r["statuses"] as? [NSNumber] { retry.statuses = v.map { $0.uint16Value } }
        if let v = r["retry_keyed_writes"] as? Bool { retry.retryKeyedWrites = v }
        config.retry = retry
    }
    config.readTimeoutMs = u64(c["read_timeout_ms"])
    config.timeoutMs = u64(c["timeout_ms"])
    config.replayLimit = u64(c["replay_limit"])
    return config
}

/// Hands out `bytes` once, in 16 KiB chunks: a one-shot streamed body.
final class ChunkedSource: BodySource, @unchecked Sendable {
    private let bytes: Data
    private var at = 0
    private let lock = NSLock()

    init(_ bytes: Data) { self.bytes = bytes }

    func read() throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        if at >= bytes.count { return nil }
        let end = min(at + 16384, bytes.count)
        defer { at = end }
        return bytes.subdata(in: at..<end)
    }
}

/// The request of a scenario, or the reason it cannot be expressed.
func request(_ r: [String: Any], url: String) -> (HttpRequest?, String?) {
    var req = HttpRequest(method: r["method"] as? String ?? "GET", url: url)
    if let body = r["body"] as? String {
        req.body = Data(body.utf8)
    } else if let n = (r["body_size"] as? NSNumber)?.intValue {
        req.body = Data(repeating: UInt8(ascii: "x"), count: n)
    }
    if let key = r["idempotency_key"] {
        if let s = key as? String {
            req.idempotencyKey = .use(key: s)
        } else if let b = key as? Bool {
            req.idempotencyKey = b ? .generate : .off
        }
    }
    req.headers = (r["headers"] as? [String: String] ?? [:]).map { Header(name: $0.key, value: $0.value) }
    req.followRedirects = r["follow_redirects"] as? Bool
    req.maxRedirects = u32(r["max_redirects"])
    req.timeoutMs = u64(r["timeout_ms"])
    return (req, nil)
}

func history(_ hops: [Hop]) -> [[String: Any]] {
    hops.map { ["method": $0.method, "url": $0.url, "status": Int($0.status)] }
}

/// The error fields of an observation: the name (the case name is the core's error name),
/// history, write_accepted and, for UpgradeRequired, its details.
func describe(_ error: Error) -> [String: Any] {
    guard let e = error as? HopsafeError else { return ["error": "\(type(of: error))"] }
    let name = Mirror(reflecting: e).children.first?.label ?? "\(e)"
    var obs: [String: Any] = ["error": name, "history": history(e.history), "write_accepted": e.writeAccepted]
    if case let .UpgradeRequired(_, _, _, _, sdk, minimum, current) = e {
        obs["upgrade"] = ["sdk": sdk, "minimum_version": minimum, "current_version": current]
    }
    return obs
}

/// The length and FNV-1a 64 of a body read in pieces (the protocol's `body` observation).
struct BodySeen {
    private(set) var len = 0
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ data: Data) {
        for byte in data {
            add(byte: byte)
        }
    }

    mutating func add(byte: UInt8) {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        len += 1
    }

    var json: [String: Any] {
        let hex = String(hash, radix: 16)
        return ["len": len, "fnv1a64": String(repeating: "0", count: 16 - hex.count) + hex]
    }
}

/// One scenario as a column plays it: the scenario, the server, and the script made for it.
struct Play {
    let scenario: [String: Any]
    let origins: [String: String]
    let caPem: String
    let control: HopsafeClient
    let scriptId: String
    /// The scenario's `request`.
    let r: [String: Any]
    /// The first URL.
    let url: String

    /// The hopsafe client the scenario's `client` fields describe.
    func client() throws -> HopsafeClient {
        try HopsafeClient(config: clientConfig(scenario["client"] as? [String: Any] ?? [:], origins, caPem))
    }

    /// Lets the script's held bodies go on; a failed release shows up as a short body.
    func release() async {
        _ = try? await control.request(request: HttpRequest(
            method: "POST", url: origins["a"]! + "/__scripts/\(scriptId)/release", idempotencyKey: .off))
    }
}

/// Records the head of a successful answer.
func recordHead(_ obs: inout [String: Any], status: Int, url: String, method: String, key: String?, hops: [[String: Any]]) {
    obs["status"] = status
    obs["final_url"] = url
    obs["final_method"] = method
    obs["idempotency_key"] = key ?? NSNull()
    obs["history"] = hops
}

/// Creates the scenario's script, then lets `column` send the request and fill in the observation.
func play(_ s: [String: Any], _ origins: [String: String], _ caPem: String, _ control: HopsafeClient,
          _ column: (Play, inout [String: Any]) async -> Void) async throws -> [String: Any] {
    var obs: [String: Any] = ["id": s["id"] ?? NSNull(), "error": NSNull(), "status": NSNull(), "final_url": NSNull(),
                              "final_method": NSNull(), "idempotency_key": NSNull(), "history": [Any](), "skipped": NSNull()]
    let steps = try JSONSerialization.data(withJSONObject: ["steps": s["steps"] ?? []])
    let created = try await control.request(request: HttpRequest(
        method: "POST", url: origins["a"]! + "/__scripts",
        headers: [Header(name: "content-type", value: "application/json")], body: steps, idempotencyKey: .off))
    let scriptId = (try JSONSerialization.jsonObject(with: created.body) as! [String: Any])["id"] as! String
    obs["script_id"] = scriptId
    let r = s["request"] as? [String: Any] ?? [:]
    let url = origins[r["origin"] as? String ?? "a"]! + "/s/\(scriptId)/0"
    await column(Play(scenario: s, origins: origins, caPem: caPem, control: control, scriptId: scriptId, r: r, url: url), &obs)
    return obs
}

/// Plays every scenario of `args` (`SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`) as `runtime`.
func runColumn(_ runtime: String, _ args: [String], _ column: (Play, inout [String: Any]) async -> Void) async throws {
    let ready = try load(args[0]) as! [String: Any]
    let origins = ready["origins"] as! [String: String]
    let caPem = ready["ca_pem"] as! String
    if let cert = ready["client_cert_pem"] as? String, let key = ready["client_key_pem"] as? String {
        clientIdentity = (cert, key)
    }
    let loaded = try load(args[1])
    let scenarios = (loaded as? [[String: Any]]) ?? ((loaded as? [String: Any])?["scenarios"] as? [[String: Any]]) ?? []
    let control = try HopsafeClient(config: ClientConfig())
    var observations: [[String: Any]] = []
    for s in scenarios {
        observations.append(try await play(s, origins, caPem, control, column))
    }
    let out = try JSONSerialization.data(withJSONObject: ["runtime": runtime, "observations": observations],
                                         options: [.prettyPrinted, .sortedKeys])
    try out.write(to: URL(fileURLWithPath: args[2]))
}
