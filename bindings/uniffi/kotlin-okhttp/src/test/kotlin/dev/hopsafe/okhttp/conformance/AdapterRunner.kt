// The `kotlin-okhttp` conformance column: every scenario through OkHttp's API,
// `HopsafeCallFactory(client).newCall(request).execute()`, with the hopsafe client configured
// from the scenario exactly as the native Kotlin runner does (shared code in Scenarios.kt).
// `AdapterRunner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`.
package dev.hopsafe.okhttp.conformance

import dev.hopsafe.HopsafeClient
import dev.hopsafe.conformance.Play
import dev.hopsafe.conformance.runScenarios
import dev.hopsafe.okhttp.HopsafeCallFactory
import dev.hopsafe.okhttp.HopsafeIOException
import dev.hopsafe.okhttp.HopsafeOptions
import dev.hopsafe.use

/** Sends a scenario's request through [HopsafeCallFactory]; a hopsafe failure is recorded as its cause. */
internal fun sendAdapter(p: Play) {
    val r = p.request
    val options =
        HopsafeOptions(
            idempotencyKey = r.idempotencyKey,
            followRedirects = r.followRedirects,
            maxRedirects = r.maxRedirects?.toInt(),
            // The protocol's buffered read is hopsafe's whole-body read (where maxBodySize applies).
            bufferBody = !p.readStream,
        )
    val (request, refused) = okRequest(r, p.streamBody, options)
    if (request == null) return p.skip(refused ?: "")
    HopsafeClient(p.config).use { client ->
        try {
            HopsafeCallFactory(client)
                .newCall(request)
                .withTimeout(r)
                .execute()
                .use { observe(p, it) }
        } catch (e: HopsafeIOException) {
            throw e.error
        }
    }
}

/** Entry point: see the file comment. */
fun main(args: Array<String>) = runScenarios(args, "kotlin-okhttp", ::sendAdapter)
