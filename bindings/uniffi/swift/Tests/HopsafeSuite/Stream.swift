// Streamed request bodies through the Swift API: a BodySource read while the request is sent.

import Foundation
import Hopsafe

/// Hands out `data` in 16 KiB chunks, then fails with `failure` if set.
final class DataSource: BodySource, @unchecked Sendable {
    private let data: Data
    private let failure: Error?
    private var at = 0
    private let lock = NSLock()

    init(_ data: Data, failingWith failure: Error? = nil) {
        self.data = data
        self.failure = failure
    }

    func read() throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        if at >= data.count {
            if let failure { throw failure }
            return nil
        }
        let end = min(at + 16384, data.count)
        defer { at = end }
        return data.subdata(in: at..<end)
    }
}

private func records(_ id: String) async throws -> [[String: Any]] {
    let control = try HopsafeClient(config: ClientConfig())
    let resp = try await control.send(HttpRequest(method: "GET", url: Server.origin("a") + "/__scripts/\(id)/records"))
    return try JSONSerialization.jsonObject(with: resp.body) as! [[String: Any]]
}

func streamedBodyIsReplayedOn307() async throws {
    let data = Data((0..<(200 * 1024)).map { UInt8($0 % 251) })
    let id = try await Server.script(#"[{"status":307,"location":"{b}/s/{id}/1"},{"status":200,"apply":true}]"#)
    let client = try HopsafeClient(config: ClientConfig(replayLimit: 1 << 20))
    let resp = try await client.sendStreaming(
        HttpRequest(method: "POST", url: Server.origin("a") + "/s/\(id)/0"), body: DataSource(data))
    try check(resp.status == 200 && resp.history.count == 1, "status \(resp.status)")
    let lens = try await records(id).map { $0["body_len"] as! Int }
    try check(lens == [data.count, data.count], "body lengths \(lens)")
}

func streamPastTheLimitIsBodyNotReplayable() async throws {
    let id = try await Server.script(#"[{"status":308,"location":"{b}/s/{id}/1"},{"status":200}]"#)
    let client = try HopsafeClient(config: ClientConfig(replayLimit: 16 * 1024))
    let error = try await expectError {
        try await client.sendStreaming(
            HttpRequest(method: "PUT", url: Server.origin("a") + "/s/\(id)/0"), body: DataSource(Data(count: 100 * 1024)))
    }
    try check(isCase(error, "BodyNotReplayable"), "got \(error)")
    try check(try await records(id).count == 1, "the body was resent")
}

func failingSourceIsBodyStream() async throws {
    struct DiskGone: Error {}
    let id = try await Server.script(#"[{"status":200,"apply":true}]"#)
    let client = try HopsafeClient(config: ClientConfig())
    let error = try await expectError {
        try await client.sendStreaming(
            HttpRequest(method: "POST", url: Server.origin("a") + "/s/\(id)/0"),
            body: DataSource(Data(count: 32 * 1024), failingWith: DiskGone()))
    }
    try check(isCase(error, "BodyStream"), "got \(error)")
    let applied = try await records(id).filter { $0["applied"] as! Bool }
    try check(applied.isEmpty, "a cut body was applied")
}
