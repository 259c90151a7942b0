// A POST that survives a regional failover: the primary answers 307 with the backup's URL,
// hopsafe resends the same method, body and Idempotency-Key there, and strips the
// Authorization header because the backup is another origin.
//
// Compiled into the Swift test executable by `cargo xtask test --only swift`.

import Foundation
import Hopsafe

/// Posts one order to `url` and returns the final response (after any redirects).
/// Cancelling the calling Task cancels the request.
func placeOrder(client: HopsafeClient, url: String) async throws -> HttpResponse {
    let resp = try await client.send(HttpRequest(
        method: "POST",
        url: url,
        headers: [
            Header(name: "content-type", value: "application/json"),
            Header(name: "authorization", value: "Bearer demo"),
        ],
        body: Data(#"{"sku":"A-1","qty":2}"#.utf8)))
    for hop in resp.history {
        print("\(hop.method) \(hop.url) -> \(hop.status), key \(hop.idempotencyKey ?? "-"), dropped \(hop.dropped.map(\.name))")
    }
    return resp
}
