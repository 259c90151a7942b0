// Streamed response bodies through the Swift API: AsyncSequence of Data, lines, an SSE-style
// body event by event, cancellation.

import Foundation
import Hopsafe

/// Bytes `0..<len` of the test server's numbered lines (`%015d\n` per line).
func pattern(_ len: Int) -> Data {
    var out = Data(capacity: len + 16)
    var line = 0
    while out.count < len {
        let digits = String(line)
        out.append(contentsOf: Array(repeating: UInt8(ascii: "0"), count: 15 - digits.utf8.count))
        out.append(contentsOf: Array(digits.utf8))
        out.append(0x0A)
        line += 1
    }
    return out.prefix(len)
}

/// A script of one step with a generated body (held after `holdAfter` bytes); returns its URL and id.
private func generated(_ bytes: Int, holdAfter: Int? = nil) async throws -> (String, String) {
    let hold = holdAfter.map { ",\"hold_after\":\($0)" } ?? ""
    let id = try await Server.script("[{\"status\":200,\"body_bytes\":\(bytes)\(hold)}]")
    return (Server.origin("a") + "/s/\(id)/0", id)
}

/// Lets the script's held body go on.
func release(_ id: String) async throws {
    let control = try HopsafeClient(config: ClientConfig())
    let resp = try await control.send(HttpRequest(method: "POST", url: Server.origin("a") + "/__scripts/\(id)/release",
                                                  idempotencyKey: .off))
    try check(resp.status == 200, "release: \(resp.status)")
}

func largeBodyStreamsInOrder() async throws {
    let size = 16 << 20
    let expected = pattern(size)
    let (url, _) = try await generated(size)
    let http = try HopsafeClient(config: ClientConfig())
    let resp = try await http.stream(HttpRequest(method: "GET", url: url))
    try check(resp.status == 200, "status \(resp.status)")
    var seen = 0
    var chunks = 0
    for try await chunk in resp.body {
        try check(chunk == expected[seen..<(seen + chunk.count)], "bytes from \(seen) differ")
        seen += chunk.count
        chunks += 1
    }
    try check(seen == size && chunks > 1, "\(seen) bytes in \(chunks) chunks")
}

func linesArriveBeforeTheServerSendsTheNext() async throws {
    // The server sends the first line and holds the rest until released: a reader that
    // waited for more than it was given would never see the first line.
    let (url, id) = try await generated(3 * 16, holdAfter: 16)
    let http = try HopsafeClient(config: ClientConfig())
    let resp = try await http.stream(HttpRequest(method: "GET", url: url))
    var lines: [String] = []
    for try await line in resp.body.lines {
        if lines.isEmpty { try await release(id) }
        lines.append(line)
    }
    try check(lines == ["000000000000000", "000000000000001", "000000000000002"], "lines \(lines)")
}

func sseEventArrivesBeforeTheServerSendsTheNext() async throws {
    let first = "event: tick\ndata: 1\n\n"
    // The server holds everything after the first event until the client, having received
    // that event, releases it: a client that buffered the body would see no event until the
    // server gives up holding (20 s) and ends the body short, without the second event.
    let steps = #"[{"status":200,"body":"event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n","#
        + #""headers":{"content-type":"text/event-stream"},"hold_after":\#(first.utf8.count)}]"#
    let id = try await Server.script(steps)
    let http = try HopsafeClient(config: ClientConfig())
    let resp = try await http.stream(HttpRequest(method: "GET", url: Server.origin("a") + "/s/\(id)/0"))
    try check(resp.headers.contains(Header(name: "content-type", value: "text/event-stream")), "\(resp.headers)")
    var events: [String] = []
    var pending = Data()
    let separator = Data("\n\n".utf8)
    for try await chunk in resp.body {
        pending.append(chunk)
        while let end = pending.range(of: separator) {
            events.append(String(decoding: pending[pending.startIndex..<end.lowerBound], as: UTF8.self))
            pending.removeSubrange(pending.startIndex..<end.upperBound)
            if events.count == 1 { try await release(id) }
        }
    }
    try check(events == ["event: tick\ndata: 1", "event: tick\ndata: 2"] && pending.isEmpty, "events \(events)")
}

func leavingTheLoopEarlyAborts() async throws {
    let (url, _) = try await generated(1 << 20, holdAfter: 64 * 1024)
    let http = try HopsafeClient(config: ClientConfig())
    let resp = try await http.stream(HttpRequest(method: "GET", url: url))
    var first = Data()
    for try await chunk in resp.body {
        first = chunk
        break
    }
    try check(!first.isEmpty && first == pattern(first.count), "first chunk")
    // The rest is held by the server: only an aborted body answers at once.
    let error = try await expectError { try await resp.body.next() }
    try check(isCase(error, "Cancelled"), "got \(error)")
}

func cancellingTheTaskAbortsAHeldRead() async throws {
    let (url, _) = try await generated(1 << 20, holdAfter: 64 * 1024)
    let http = try HopsafeClient(config: ClientConfig())
    let resp = try await http.stream(HttpRequest(method: "GET", url: url))
    let (prefixRead, signal) = AsyncStream<Int>.makeStream()
    let task = Task {
        var seen = 0
        for try await chunk in resp.body {
            seen += chunk.count
            if seen >= 64 * 1024 { signal.yield(seen) }
        }
        return seen
    }
    var seen = 0
    for await n in prefixRead {
        seen = n
        break
    }
    // The loop now waits for bytes the server holds until a release that never comes.
    task.cancel()
    let error = try await expectError { try await task.value }
    try check(isCase(error, "Cancelled") && seen == 64 * 1024, "got \(error) after \(seen) bytes")
    let after = try await expectError { try await resp.body.next() }
    try check(isCase(after, "Cancelled"), "then got \(after)")
}
