// The `swift` column: the request through hopsafe's own API (`send`, `sendStreaming`, `stream`).

import Foundation
import Hopsafe

func playNative(_ p: Play, _ obs: inout [String: Any]) async {
    let (req, skipped) = request(p.r, url: p.url)
    guard let req else {
        obs["skipped"] = skipped
        return
    }
    do {
        let client = try p.client()
        if p.r["read"] as? String == "stream" {
            let resp = try await client.stream(req)
            recordHead(&obs, status: Int(resp.status), url: resp.url, method: resp.method,
                       key: resp.idempotencyKey, hops: history(resp.history))
            var seen = BodySeen()
            do {
                for try await chunk in resp.body {
                    if seen.len == 0 { await p.release() }
                    seen.add(chunk)
                }
                obs["body"] = seen.json
            } catch let e as HopsafeError {
                obs["error"] = describe(e)["error"]
                obs["write_accepted"] = e.writeAccepted
            }
            return
        }
        let resp: HttpResponse
        if p.r["stream"] as? Bool == true, let body = req.body {
            var bare = req
            bare.body = nil
            resp = try await client.sendStreaming(bare, body: ChunkedSource(body))
        } else {
            resp = try await client.send(req)
        }
        recordHead(&obs, status: Int(resp.status), url: resp.url, method: resp.method,
                   key: resp.idempotencyKey, hops: history(resp.history))
        var seen = BodySeen()
        seen.add(resp.body)
        obs["body"] = seen.json
    } catch {
        obs.merge(describe(error)) { _, new in new }
    }
}
