// The Kotlin conformance runner (tests/conformance/PROTOCOL.md), through hopsafe's own API:
// `Runner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`; each argument is JSON text or a file.
// The scenario handling it shares with the adapter runners is in testFixtures (Scenarios.kt).
package dev.hopsafe.conformance

import dev.hopsafe.HopsafeClient
import dev.hopsafe.use

/** Sends a scenario's request with hopsafe's blocking API. */
internal fun sendNative(p: Play) {
    HopsafeClient(p.config).use { client ->
        val request = p.request
        val body = request.body
        if (p.readStream) {
            client.openBlocking(request).use { resp ->
                p.head(resp.status.toInt(), resp.url, resp.method, resp.idempotencyKey, history(resp.history))
                p.readChunks { resp.body.nextBlocking() }
            }
            return
        }
        val resp =
            if (p.streamBody && body != null) {
                client.requestStreamingBlocking(request.copy(body = null), ChunkedSource(body))
            } else {
                client.requestBlocking(request)
            }
        p.head(resp.status.toInt(), resp.url, resp.method, resp.idempotencyKey, history(resp.history))
        p.body(resp.body)
    }
}

/** Entry point: see the file comment. */
fun main(args: Array<String>) = runScenarios(args, "kotlin", ::sendNative)
