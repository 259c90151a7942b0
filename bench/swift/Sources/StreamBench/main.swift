// The Swift streamed-download row of `cargo xtask bench`: `StreamBench BASE_URL BYTES` reads
// BASE/stream/BYTES with `for try await chunk in response.body` after a 16 MiB warm-up and a
// peak-RSS reset (`/proc/self/clear_refs`); prints {"client", "bytes", "mib_per_s", "rss_growth_kib"}.
import Foundation
import Hopsafe
#if canImport(Glibc)
import Glibc
#endif

/// A `/proc/self/status` field in KiB (read with stdio: procfs files report size 0).
func status(_ field: String) -> Int {
    let f = fopen("/proc/self/status", "r")!
    defer { fclose(f) }
    var buf = [CChar](repeating: 0, count: 512)
    while fgets(&buf, 512, f) != nil {
        let line = String(cString: buf)
        if line.hasPrefix(field + ":") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })[1])!
        }
    }
    fatalError("no \(field)")
}

func download(_ client: HopsafeClient, _ url: String) async throws -> Int {
    let resp = try await client.stream(HttpRequest(method: "GET", url: url))
    var total = 0
    for try await chunk in resp.body { total += chunk.count }
    return total
}

let base = CommandLine.arguments[1]
let size = Int(CommandLine.arguments[2])!
let client = try HopsafeClient(config: ClientConfig())
let warm = try await download(client, "\(base)/stream/\(16 << 20)")
precondition(warm == 16 << 20)
let refs = fopen("/proc/self/clear_refs", "w")!
fputs("5", refs)
fclose(refs)
let before = status("VmRSS")
let start = Date()
let read = try await download(client, "\(base)/stream/\(size)")
let secs = Date().timeIntervalSince(start)
precondition(read == size)
print("{\"client\":\"hopsafe-swift\",\"bytes\":\(size),\"mib_per_s\":\(Double(read) / 1048576 / secs),\"rss_growth_kib\":\(status("VmHWM") - before)}")
