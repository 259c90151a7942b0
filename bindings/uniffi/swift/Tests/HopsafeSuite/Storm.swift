// Cancellation storm through the Swift API: 200 keyed 256 KiB POSTs with random server
// delays, half of the Tasks cancelled at random points within 100 ms; then the server's
// records and the process's open file descriptors are checked.

import Foundation
import Hopsafe

private enum Outcome {
    case done(HttpResponse)
    case failed(Error)
}

private func openFds() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

private func getJSON(_ client: HopsafeClient, _ url: String) async throws -> Any {
    let resp = try await client.send(HttpRequest(method: "GET", url: url))
    return try JSONSerialization.jsonObject(with: resp.body)
}

/// Runs the storm against `origin` (`a`: HTTP/1.1, `tls`: HTTP/2).
func cancellationStorm(origin: String) async throws {
    let total = 200
    let size = 256 * 1024
    let delays = (0..<total).map { _ in "\"delay_ms:\(Int.random(in: 0..<150))\"" }.joined(separator: ",")
    let id = try await Server.script(#"[{"status":200,"apply":true,"faults":["# + delays + "]}]")
    let url = Server.origin(origin) + "/s/\(id)/0"
    let fdsBefore = openFds()
    var outcomes = [Outcome?](repeating: nil, count: total)
    do {
        let storm = try HopsafeClient(config: ClientConfig(caPem: Server.caPem))
        let tasks: [Task<Outcome, Never>] = (0..<total).map { i in
            Task {
                let body = Data(repeating: UInt8(i % 251), count: size)
                let req = HttpRequest(method: "POST", url: url, body: body, idempotencyKey: .use(key: "storm-\(i)"))
                do { return .done(try await storm.send(req)) } catch { return .failed(error) }
            }
        }
        // Timers on a dispatch queue, so they fire on time whatever the task pool is doing.
        for i in stride(from: 0, to: total, by: 2) {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 1...100))) {
                tasks[i].cancel()
            }
        }
        for (i, t) in tasks.enumerated() { outcomes[i] = await t.value }
    }
    var cancelled = Set<Int>()
    for (i, o) in outcomes.enumerated() {
        switch o! {
        case .done(let resp):
            let echo = try Echo(resp)
            try check(resp.status == 200 && echo.bodyLen == size, "request \(i): status \(resp.status)")
            try check(resp.idempotencyKey == "storm-\(i)", "request \(i): key \(String(describing: resp.idempotencyKey))")
        case .failed(let error):
            try check(i % 2 == 0 && isCase(error, "Cancelled"), "request \(i) failed: \(error)")
            cancelled.insert(i)
        }
    }
    try check(total - cancelled.count >= total / 2, "only \(total - cancelled.count) completed")

    // Give the server a moment to notice connections that died mid-body.
    try await Task.sleep(nanoseconds: 300_000_000)
    let control = try HopsafeClient(config: ClientConfig())
    let records = try await getJSON(control, Server.origin("a") + "/__scripts/\(id)/records") as! [[String: Any]]
    var cut = 0
    for r in records {
        let complete = r["body_complete"] as! Bool
        let len = r["body_len"] as! Int
        if complete {
            try check(len == size, "a cut body was taken as complete: \(len) bytes")
        } else {
            cut += 1
            try check(!(r["applied"] as! Bool), "a cut body was applied")
        }
    }
    let writes = try await getJSON(control, Server.origin("a") + "/__scripts/\(id)/writes") as! [String: Any]
    let keys = writes["keys"] as! [String: Int]
    for i in 0..<total where !cancelled.contains(i) {
        try check((keys["\"storm-\(i)\""] ?? 0) >= 1, "request \(i) succeeded but was not applied")
    }
    // The storm's client is gone: its connections are closed.
    var fdsAfter = openFds()
    for _ in 0..<50 where fdsAfter > fdsBefore + 2 {
        try await Task.sleep(nanoseconds: 100_000_000)
        fdsAfter = openFds()
    }
    print("storm over \(origin): \(total) requests, \(cancelled.count) cancelled, \(cut) cut bodies recorded incomplete, fds \(fdsBefore) -> \(fdsAfter)")
    try check(fdsAfter <= fdsBefore + 2, "fds leaked: \(fdsBefore) -> \(fdsAfter)")
}
