// `HopsafeClient.metrics()`: the core's counters, checked against what the test server saw.

import Foundation
import Hopsafe

/// `scheme://host:port`, as the counters name origins.
private func originName(_ url: String) -> String {
    let c = URLComponents(string: url)!
    return "\(c.scheme!)://\(c.host!):\(c.port!)"
}

func metricsCountRedirectPairsAndTheirAge() async throws {
    let (a, b) = (Server.origin("a"), Server.origin("b"))
    let counted = try HopsafeClient(config: ClientConfig(caPem: Server.caPem))
    let auth = [Header(name: "Authorization", value: "Bearer secret")]
    let url = Server.redirect(a, 307, to: b + "/echo")
    let first = try await counted.send(HttpRequest(method: "GET", url: url, headers: auth))
    try check(try Echo(first).header("authorization").isEmpty, "authorization reached the other origin")
    let m = counted.metrics()
    guard m.redirects.count == 1, let pair = m.redirects.first else { throw Failure(description: "redirects \(m.redirects)") }
    try check(pair.status == 307 && pair.from == originName(a) && pair.to == originName(b) && pair.count == 1, "\(pair)")
    try check(m.headersStripped == [StrippedCount(name: "authorization", reason: "cross-origin", count: 1)], "\(m.headersStripped)")
    try check(m.retries.isEmpty && m.writesDeliveredTwice == 0, "\(m)")

    try await Task.sleep(nanoseconds: 20_000_000)
    _ = try await counted.send(HttpRequest(method: "GET", url: url, headers: auth))
    let again = counted.metrics().redirects[0]
    try check(again.count == 2 && again.firstSeenMs == pair.firstSeenMs, "\(again)")
    try check(again.lastSeenMs >= pair.lastSeenMs + 20 && again.ageMs >= 20, "\(again)")
}

func metricsCountRetriesAndKeyedResends() async throws {
    let a = Server.origin("a")
    let counted = try HopsafeClient(config: ClientConfig(retry: RetryConfig(baseDelayMs: 1, maxDelayMs: 5)))
    let busy = try await Server.script(#"[{"status":200,"faults":["status_503"]}]"#)
    let ok = try await counted.send(HttpRequest(method: "GET", url: a + "/s/\(busy)/0"))
    try check(ok.status == 200, "status \(ok.status)")
    let reset = try await Server.script(#"[{"status":200,"apply":true,"faults":["reset_after_read"]}]"#)
    let resp = try await counted.send(HttpRequest(
        method: "POST", url: a + "/s/\(reset)/0", body: Data("pay".utf8), idempotencyKey: .use(key: "order-7")))
    try check(resp.attempts == 2, "attempts \(resp.attempts)")
    let m = counted.metrics()
    try check(m.retries == [RetryCount(reason: "after_send", count: 1), RetryCount(reason: "status_503", count: 1)], "\(m.retries)")
    try check(m.writesResentWithKey == 1 && m.writesDeliveredTwice == 0, "\(m)")
}
