// The Swift suite: the same scenarios as the Kotlin tests, against the real test server.

import Foundation
import Hopsafe

let a = Server.origin("a")
let b = Server.origin("b")
let client = try HopsafeClient(config: ClientConfig(caPem: Server.caPem))
let auth = [Header(name: "Authorization", value: "Bearer secret")]

func post(_ url: String, headers: [Header] = [], body: String = "x") async throws -> HttpResponse {
    try await client.send(HttpRequest(method: "POST", url: url, headers: headers, body: Data(body.utf8)))
}

/// Hops a redirect hook saw (the hook runs on hopsafe's threads).
final class SeenHops: @unchecked Sendable {
    private let lock = NSLock()
    private var hops: [RedirectInfo] = []
    func add(_ h: RedirectInfo) { lock.lock(); hops.append(h); lock.unlock() }
    var all: [RedirectInfo] { lock.lock(); defer { lock.unlock() }; return hops }
}

/// A URL whose only script step answers after 5 s.
func slowURL() async throws -> String {
    a + "/s/" + (try await Server.script(#"[{"status":200,"faults":["delay_ms:5000"]}]"#)) + "/0"
}

await runAll([
    ("a redirect hook sees each hop and can stop or reject it", {
        let seen = SeenHops()
        let hook = ClosureRedirectHook { info in
            seen.add(info)
            return info.to.hasPrefix(b) ? .stop : .follow
        }
        let hooked = try HopsafeClient(config: ClientConfig(caPem: Server.caPem), redirectHook: hook)
        let same = try await hooked.send(HttpRequest(method: "POST", url: Server.redirect(a, 302, to: a + "/echo"), body: Data("x".utf8)))
        try check(same.status == 200 && seen.all.first?.nextMethod == "GET", "status \(same.status) seen \(seen.all)")
        let away = try await hooked.send(HttpRequest(method: "POST", url: Server.redirect(a, 307, to: b + "/echo"), body: Data("x".utf8)))
        try check(away.status == 307 && seen.all.count == 2, "status \(away.status) seen \(seen.all)")
        let rejecting = try HopsafeClient(config: ClientConfig(caPem: Server.caPem),
                                          redirectHook: ClosureRedirectHook { _ in .reject(reason: "not to b") })
        do {
            _ = try await rejecting.send(HttpRequest(method: "GET", url: Server.redirect(a, 307, to: b + "/echo")))
            try check(false, "the rejected redirect was followed")
        } catch let e as HopsafeError {
            guard case .RedirectRejected = e else { throw e }
            try check(e.group == .redirect && "\(e)".contains("not to b"), "\(e)")
        }
    }),
    ("307 and 308 keep method and body", {
        for status in [307, 308] {
            let resp = try await post(Server.redirect(a, status, to: b + "/echo"), body: "order=1")
            let echo = try Echo(resp)
            try check(resp.status == 200 && resp.url == b + "/echo", "status \(resp.status) url \(resp.url)")
            try check(echo.method == "POST" && echo.body == "order=1", "echo \(echo.json)")
            try check(resp.history.map(\.status) == [UInt16(status)], "history \(resp.history)")
        }
    }),
    ("303 turns a POST into a GET", {
        let resp = try await post(Server.redirect(a, 303, to: a + "/echo"))
        let echo = try Echo(resp)
        try check(echo.method == "GET" && echo.bodyLen == 0, "echo \(echo.json)")
        try check(resp.history[0].dropped.contains { $0.reason == .methodChanged }, "dropped \(resp.history[0].dropped)")
    }),
    ("credentials are stripped cross-origin", {
        let resp = try await post(Server.redirect(a, 307, to: b + "/echo"), headers: auth)
        try check(try Echo(resp).header("authorization").isEmpty, "authorization reached the other origin")
        try check(resp.history[0].dropped.contains(DroppedHeader(name: "authorization", reason: .crossOrigin)),
                  "dropped \(resp.history[0].dropped)")
    }),
    ("A -> B -> A does not restore credentials", {
        let url = Server.redirect(a, 307, to: Server.redirect(b, 307, to: a + "/echo"))
        let resp = try await post(url, headers: auth)
        try check(resp.url == a + "/echo" && resp.history.count == 2, "url \(resp.url)")
        try check(try Echo(resp).header("authorization").isEmpty, "authorization came back")
    }),
    ("same-origin redirects keep credentials", {
        let resp = try await post(Server.redirect(a, 307, to: a + "/echo"), headers: auth)
        try check(try Echo(resp).header("authorization") == ["Bearer secret"], "authorization lost")
    }),
    ("the idempotency key is stable across a 307", {
        let resp = try await post(Server.redirect(a, 307, to: b + "/echo"))
        guard let key = resp.idempotencyKey else { throw Failure(description: "no key") }
        try check(resp.history[0].idempotencyKey == key, "hop key \(String(describing: resp.history[0].idempotencyKey))")
        try check(try Echo(resp).header("idempotency-key") == ["\"\(key)\""], "sent key differs")
    }),
    ("https to http is InsecureRedirect", {
        let error = try await expectError { try await post(Server.redirect(Server.origin("tls"), 307, to: a + "/echo")) }
        try check(isCase(error, "InsecureRedirect"), "got \(error)")
        if case let .InsecureRedirect(_, url, history, _) = error as! HopsafeError {
            try check(url == a + "/echo" && history.count == 1, "url \(String(describing: url)) history \(history)")
        }
    }),
    ("too many redirects is TooManyRedirects", {
        let limited = try HopsafeClient(config: ClientConfig(maxRedirects: 2))
        let url = Server.redirect(a, 307, to: Server.redirect(a, 307, to: Server.redirect(a, 307, to: a + "/echo")))
        let error = try await expectError { try await limited.send(HttpRequest(method: "GET", url: url)) }
        guard case let .TooManyRedirects(detail, _, history, _) = error as? HopsafeError else {
            throw Failure(description: "got \(error)")
        }
        try check(history.count == 3 && detail.contains("more than 2"), "\(detail) \(history.count)")
    }),
    ("bad arguments throw the core's error cases", {
        let cases: [(String, HttpRequest)] = [
            ("InvalidUrl", HttpRequest(method: "GET", url: "not a url")),
            ("UnsupportedScheme", HttpRequest(method: "GET", url: "ftp://example.com/")),
            ("InvalidMethod", HttpRequest(method: "GE T", url: a + "/echo")),
            ("InvalidHeader", HttpRequest(method: "GET", url: a + "/echo",
                                          headers: [Header(name: "x-evil", value: "a\r\nInjected: 1")])),
        ]
        for (name, req) in cases {
            let error = try await expectError { try await client.send(req) }
            try check(isCase(error, name), "\(name): got \(error)")
        }
        let blocking = try await expectError {
            try client.requestBlocking(request: HttpRequest(method: "GET", url: "http://"))
        }
        try check(isCase(blocking, "InvalidUrl"), "blocking: got \(blocking)")
        let config = try await expectError { try HopsafeClient(config: ClientConfig(trustedOrigins: ["ftp://nope"])) }
        try check(isCase(config, "InvalidConfig"), "config: got \(config)")
    }),
    ("errors carry the core's group", {
        let refused = try await expectError { try await client.send(HttpRequest(method: "GET", url: "http://127.0.0.1:1/")) }
        try check(isCase(refused, "Connect") && (refused as? HopsafeError)?.group == .network, "got \(refused)")
        let bad = try await expectError { try await client.send(HttpRequest(method: "GET", url: "not a url")) }
        try check((bad as? HopsafeError)?.group == .invalidInput, "got \(bad)")
        let insecure = try await expectError { try await post(Server.redirect(Server.origin("tls"), 307, to: a + "/echo")) }
        try check((insecure as? HopsafeError)?.group == .redirect, "got \(insecure)")
        try check(HopsafeError.Cancelled(detail: "x", url: nil, history: [], writeAccepted: false).group == nil, "Cancelled has no group")
    }),
    ("errors say whether a write was accepted and which deadline passed", {
        let seeOther = Server.redirect(a, 303, to: "ftp://127.0.0.1/gone")
        let accepted = try await expectError { try await client.send(HttpRequest(method: "POST", url: seeOther, body: Data("x".utf8))) }
        let e = accepted as! HopsafeError
        try check(isCase(e, "UnsupportedScheme") && e.writeAccepted && e.history.count == 1, "got \(e)")
        let temporary = Server.redirect(a, 307, to: "ftp://127.0.0.1/gone")
        let replayed = try await expectError { try await client.send(HttpRequest(method: "POST", url: temporary, body: Data("x".utf8))) }
        try check(!(replayed as! HopsafeError).writeAccepted, "got \(replayed)")
        let id = try await Server.script(#"[{"status":200,"faults":["delay_ms:3000"]}]"#)
        let slow = try HopsafeClient(config: ClientConfig(retry: RetryConfig(maxAttempts: 1), readTimeoutMs: 100))
        let timeout = try await expectError { try await slow.send(HttpRequest(method: "GET", url: a + "/s/\(id)/0")) }
        guard case let .Timeout(_, _, _, _, phase, afterMs) = timeout as? HopsafeError else {
            throw Failure(description: "expected Timeout, got \(timeout)")
        }
        try check(phase == .read && afterMs == 100, "phase \(phase) after \(afterMs)")
        let half = try await expectError { try HopsafeClient(config: ClientConfig(sdkName: "acme-ios")) }
        try check(isCase(half, "InvalidConfig"), "sdkName alone: got \(half)")
        _ = try HopsafeClient(config: ClientConfig(keyHonoringOrigins: ["https://*.example.com"], sdkName: "acme-ios", sdkVersion: "2.4.0"))
    }),
    ("cancelling the Task aborts the request", {
        let url = try await slowURL()
        let started = Date()
        let task = Task { try await client.send(HttpRequest(method: "GET", url: url)) }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        let error = try await expectError { try await task.value }
        let elapsed = Date().timeIntervalSince(started)
        try check(isCase(error, "Cancelled"), "got \(error)")
        try check(elapsed < 2, "cancellation took \(elapsed) s")
    }),
    ("a CancelHandle cancels a blocking call", {
        let url = try await slowURL()
        let handle = CancelHandle()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { handle.cancel() }
        let started = Date()
        let error = try await expectError {
            try client.requestBlocking(request: HttpRequest(method: "GET", url: url), cancel: handle)
        }
        try check(isCase(error, "Cancelled") && handle.isCancelled(), "got \(error)")
        try check(Date().timeIntervalSince(started) < 2, "too slow")
    }),
    ("a 503 at a key-honouring standby after a 307 is retried with the same key, applied once", {
        let retrying = try HopsafeClient(config: ClientConfig(
            keyHonoringOrigins: [Server.origin("b")], retry: RetryConfig(baseDelayMs: 10, maxDelayMs: 50)))
        let id = try await Server.script(
            #"[{"status":307,"location":"{b}/s/{id}/1"},{"status":200,"apply":true,"faults":["status_503"]}]"#)
        let resp = try await retrying.send(HttpRequest(method: "POST", url: a + "/s/\(id)/0", body: Data("pay 10".utf8)))
        try check(resp.status == 200 && resp.attempts == 2, "status \(resp.status) attempts \(resp.attempts)")
        let records = try await retrying.send(HttpRequest(method: "GET", url: a + "/__scripts/\(id)/records"))
        let list = try JSONSerialization.jsonObject(with: records.body) as! [[String: Any]]
        let keys = list.compactMap { $0["idempotency_key"] as? String }
        try check(keys.count == 3 && Set(keys) == ["\"\(resp.idempotencyKey ?? "")\""], "keys \(keys)")
        let writes = try await retrying.send(HttpRequest(method: "GET", url: a + "/__scripts/\(id)/writes"))
        let applied = (try JSONSerialization.jsonObject(with: writes.body) as! [String: Any])["applications"] as? Int
        try check(applied == 1, "applications \(String(describing: applied))")
    }),
    ("a cancellation storm over HTTP/1.1 never completes a cut body and leaks nothing", {
        try await cancellationStorm(origin: "a")
    }),
    ("a cancellation storm over HTTP/2 never completes a cut body and leaks nothing", {
        try await cancellationStorm(origin: "tls")
    }),
    ("a streamed body is replayed on 307", { try await streamedBodyIsReplayedOn307() }),
    ("a stream past the replay limit is BodyNotReplayable", { try await streamPastTheLimitIsBodyNotReplayable() }),
    ("a failing BodySource aborts the upload as BodyStream", { try await failingSourceIsBodyStream() }),
    ("a large body streams in order through an AsyncSequence", { try await largeBodyStreamsInOrder() }),
    ("each line of a held body arrives before the server sends the next", {
        try await linesArriveBeforeTheServerSendsTheNext()
    }),
    ("an SSE event arrives before the server sends the next", {
        try await sseEventArrivesBeforeTheServerSendsTheNext()
    }),
    ("leaving the loop early aborts the transfer", { try await leavingTheLoopEarlyAborts() }),
    ("cancelling the Task aborts a read the server holds", { try await cancellingTheTaskAbortsAHeldRead() }),
    ("data(for: URLRequest) follows a 307 with the body and drops the credential", {
        try await urlRequestFollows307WithBodyAndDropsTheCredential()
    }),
    ("an httpBodyStream is sent whole through a 307, or fails past the replay limit", {
        try await urlRequestBodyStreamIsSentWholeOrNotAtAll()
    }),
    ("bytes(for: URLRequest) streams the body", { try await urlRequestBytesStreamTheBody() }),
    ("the URLRequest adapter throws HopsafeError", { try await urlRequestErrorsAreHopsafeErrors() }),
    ("the listener sees the request, the hop and the retry, never the credential", {
        try await listenerSeesRequestHopAndRetryNeverTheCredential()
    }),
    ("a listener that throws does not fail the request", { try await throwingListenerDoesNotFailTheRequest() }),
    ("the failover example survives a 307", {
        let resp = try await placeOrder(client: client, url: Server.redirect(a, 307, to: b + "/echo"))
        try check(resp.status == 200 && (try Echo(resp).method) == "POST", "status \(resp.status)")
    }),
    ("metrics count redirect pairs, stripped headers and the pair's age", { try await metricsCountRedirectPairsAndTheirAge() }),
    ("metrics count retries by reason and keyed write re-sends", { try await metricsCountRetriesAndKeyedResends() }),
])
