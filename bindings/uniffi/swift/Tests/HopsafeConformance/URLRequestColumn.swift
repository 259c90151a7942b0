// The `swift-urlrequest` column: the request as a Foundation URLRequest through hopsafe's
// URLSession-shaped `data(for:)` / `bytes(for:)`; what URLRequest has no field for (the
// idempotency key, redirect overrides) goes in `URLRequestOptions`.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hopsafe

/// The scenario's request as a URLRequest (a streamed body as `httpBodyStream`).
func urlRequest(_ req: HttpRequest, streamed: Bool) -> URLRequest {
    var u = URLRequest(url: URL(string: req.url)!)
    u.httpMethod = req.method
    for h in req.headers {
        u.addValue(h.value, forHTTPHeaderField: h.name)
    }
    if let body = req.body {
        if streamed {
            u.httpBodyStream = InputStream(data: body)
        } else {
            u.httpBody = body
        }
    }
    return u
}

func playURLRequest(_ p: Play, _ obs: inout [String: Any]) async {
    let (req, skipped) = request(p.r, url: p.url)
    guard let req else {
        obs["skipped"] = skipped
        return
    }
    let u = urlRequest(req, streamed: p.r["stream"] as? Bool == true)
    let options = URLRequestOptions(idempotencyKey: req.idempotencyKey, followRedirects: req.followRedirects,
                                    maxRedirects: req.maxRedirects, timeoutMs: req.timeoutMs)
    do {
        let client = try p.client()
        if p.r["read"] as? String == "stream" {
            let (bytes, resp) = try await client.bytes(for: u, options: options)
            record(&obs, resp)
            var seen = BodySeen()
            do {
                for try await byte in bytes {
                    if seen.len == 0 { await p.release() }
                    seen.add(byte: byte)
                }
                obs["body"] = seen.json
            } catch let e as HopsafeError {
                obs["error"] = describe(e)["error"]
                obs["write_accepted"] = e.writeAccepted
            }
            return
        }
        let (data, resp) = try await client.data(for: u, options: options)
        record(&obs, resp)
        var seen = BodySeen()
        seen.add(data)
        obs["body"] = seen.json
    } catch {
        obs.merge(describe(error)) { _, new in new }
    }
}

/// The observation of a response as the URLSession shape gives it.
private func record(_ obs: inout [String: Any], _ resp: HopsafeURLResponse) {
    recordHead(&obs, status: resp.statusCode, url: resp.url?.absoluteString ?? "", method: resp.method,
               key: resp.idempotencyKey, hops: history(resp.history))
}
