// The README's Swift quick start as a user's package runs it: `QuickStart URL` posts an order to
// URL (default: the README's) and prints every hop and the final response.

import Foundation
import Hopsafe

let url = CommandLine.arguments.dropFirst().first ?? "https://api.example.com/v1/orders"
let client = try HopsafeClient(config: ClientConfig(trustedOrigins: ["https://*.api.example.com"]))
do {
    let resp = try await client.send(HttpRequest(
        method: "POST",
        url: url,
        headers: [Header(name: "authorization", value: "Bearer s3cret")],
        body: Data(#"{"sku":"A-1"}"#.utf8)))
    for hop in resp.history { print("hop \(hop.status) \(hop.url) dropped \(hop.dropped.map(\.name))") }
    print("final \(resp.status) key=\(resp.idempotencyKey ?? "-")")
    print(String(decoding: resp.body, as: UTF8.self))
} catch {
    print("\(error)")
    exit(1)
}
