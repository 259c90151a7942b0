// The URLSession-shaped adapter (`data(for:)`, `bytes(for:)` with a URLRequest) and the tracing
// listener, against the real test server.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hopsafe

/// What `/echo` saw, from a body read through the adapter.
func echoJSON(_ data: Data) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

func echoHeader(_ json: [String: Any], _ name: String) -> [String] {
    (json["headers"] as? [String: [String]])?[name] ?? []
}

func urlRequestFollows307WithBodyAndDropsTheCredential() async throws {
    var req = URLRequest(url: URL(string: Server.redirect(a, 307, to: b + "/echo"))!)
    req.httpMethod = "POST"
    req.httpBody = Data("order=1".utf8)
    req.setValue("Bearer secret", forHTTPHeaderField: "Authorization")
    let (data, resp) = try await client.data(for: req)
    let echo = try echoJSON(data)
    try check(resp.statusCode == 200 && resp.url?.absoluteString == b + "/echo", "\(resp.statusCode) \(String(describing: resp.url))")
    try check(echo["method"] as? String == "POST" && echo["body"] as? String == "order=1", "echo \(echo)")
    try check(echoHeader(echo, "authorization").isEmpty, "the credential crossed origins: \(echo)")
    try check(resp.value(forHTTPHeaderField: "Content-Type")?.contains("json") == true, "\(resp.allHeaderFields)")
    // hopsafe's facts ride on the HTTPURLResponse subclass.
    let key = try XCTUnwrap(resp.idempotencyKey)
    try check(echoHeader(echo, "idempotency-key") == ["\"\(key)\""], "key \(key) echo \(echo)")
    try check(resp.method == "POST" && resp.history.map(\.status) == [307], "history \(resp.history)")
    try check(resp.history[0].dropped == [DroppedHeader(name: "authorization", reason: .crossOrigin)], "\(resp.history)")
}

func urlRequestBodyStreamIsSentWholeOrNotAtAll() async throws {
    var req = URLRequest(url: URL(string: Server.redirect(a, 307, to: b + "/echo"))!)
    req.httpMethod = "PUT"
    req.httpBodyStream = InputStream(data: Data(repeating: UInt8(ascii: "x"), count: 50000))
    let (data, resp) = try await client.data(for: req)
    let echo = try echoJSON(data)
    try check(resp.statusCode == 200 && echo["body_len"] as? Int == 50000, "\(resp.statusCode) \(echo["body_len"] ?? "-")")

    // Past the replay limit a 307 cannot resend it: an error, never a truncated body.
    let small = try HopsafeClient(config: ClientConfig(caPem: Server.caPem, replayLimit: 1000))
    req.httpBodyStream = InputStream(data: Data(repeating: UInt8(ascii: "x"), count: 50000))
    let error = try await expectError { try await small.data(for: req) }
    try check(isCase(error, "BodyNotReplayable"), "\(error)")
}

func urlRequestBytesStreamTheBody() async throws {
    var req = URLRequest(url: URL(string: a + "/echo")!)
    req.httpMethod = "POST"
    req.httpBody = Data("hello".utf8)
    let (bytes, resp) = try await client.bytes(for: req)
    try check(resp.statusCode == 200 && resp.url?.absoluteString == a + "/echo", "\(resp.statusCode)")
    var data = Data()
    for try await byte in bytes {
        data.append(byte)
    }
    try check(try echoJSON(data)["body"] as? String == "hello", String(decoding: data, as: UTF8.self))
}

func urlRequestErrorsAreHopsafeErrors() async throws {
    let error = try await expectError { try await client.data(for: URLRequest(url: URL(string: "ftp://example.com/x")!)) }
    try check(isCase(error, "UnsupportedScheme"), "\(error)")
    let loop = try await expectError {
        try await client.data(for: URLRequest(url: URL(string: a + "/s/" + (try await Server.script(
            #"[{"status":307,"location":"{a}/s/{id}/0"}]"#)) + "/0")!))
    }
    try check(isCase(loop, "RedirectLoop") || isCase(loop, "TooManyRedirects"), "\(loop)")
    try check(!((loop as? HopsafeError)?.history.isEmpty ?? true), "the error carries the history")
}

/// Events a listener was told (it runs on hopsafe's threads).
final class SeenEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [HopsafeEvent] = []
    func add(_ e: HopsafeEvent) { lock.lock(); events.append(e); lock.unlock() }
    var all: [HopsafeEvent] { lock.lock(); defer { lock.unlock() }; return events }
}

func listenerSeesRequestHopAndRetryNeverTheCredential() async throws {
    let seen = SeenEvents()
    let retry = RetryConfig(baseDelayMs: 10, maxDelayMs: 50)
    let traced = try HopsafeClient(config: ClientConfig(retry: retry, caPem: Server.caPem),
                                   listener: ClosureListener { seen.add($0) })
    let id = try await Server.script(#"[{"status":307,"location":"{b}/s/{id}/1"},{"status":200}]"#)
    let resp = try await traced.send(HttpRequest(method: "POST", url: a + "/s/\(id)/0?token=q-secret",
                                                 headers: auth, body: Data("pay".utf8)))
    try check(resp.status == 200, "status \(resp.status)")
    let hop = HopsafeEvent.hop(method: "POST", origin: a, status: 307, to: b, nextMethod: "POST",
                               dropped: [DroppedHeader(name: "authorization", reason: .crossOrigin)])
    try check(seen.all == [.request(method: "POST", origin: a), hop], "events \(seen.all)")
    let text = "\(seen.all)"
    try check(!text.contains("secret") && !text.contains("/s/"), text)

    // A retried 503 is reported with its reason, and a client without the listener adds nothing.
    let quiet = try HopsafeClient(config: ClientConfig(caPem: Server.caPem))
    _ = try await quiet.send(HttpRequest(method: "GET", url: a + "/echo"))
    let failing = try await Server.script(#"[{"status":200,"faults":["status_503"]}]"#)
    let retried = try await traced.send(HttpRequest(method: "PUT", url: a + "/s/\(failing)/0", body: Data("x".utf8)))
    try check(retried.status == 200 && retried.attempts == 2, "status \(retried.status) attempts \(retried.attempts)")
    let last = Array(seen.all.dropFirst(2))
    guard last.count == 2, case let .retry(method, origin, attempt, reason, status, _) = last[1] else {
        throw Failure(description: "events \(last)")
    }
    try check(last[0] == .request(method: "PUT", origin: a), "events \(last)")
    try check(method == "PUT" && origin == a && attempt == 1 && status == 503 && reason.contains("503"), "\(last[1])")
}

func throwingListenerDoesNotFailTheRequest() async throws {
    struct Broken: Error {}
    let c = try HopsafeClient(config: ClientConfig(caPem: Server.caPem), listener: ClosureListener { _ in throw Broken() })
    let resp = try await c.send(HttpRequest(method: "GET", url: a + "/echo"))
    try check(resp.status == 200, "status \(resp.status)")
}

/// `XCTUnwrap` without XCTest.
func XCTUnwrap<T>(_ value: T?, line: Int = #line) throws -> T {
    guard let value else { throw Failure(description: "line \(line): unexpected nil") }
    return value
}
