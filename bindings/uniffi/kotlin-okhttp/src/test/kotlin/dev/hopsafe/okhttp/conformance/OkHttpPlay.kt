// What the two OkHttp runners share: the scenario's request as an okhttp3.Request, and the
// observation of an okhttp3.Response (status, final request, priorResponse chain, body).
package dev.hopsafe.okhttp.conformance

import dev.hopsafe.HttpRequest
import dev.hopsafe.conformance.Play
import dev.hopsafe.conformance.hopJson
import dev.hopsafe.okhttp.HopsafeIOException
import dev.hopsafe.okhttp.HopsafeOptions
import dev.hopsafe.okhttp.hopsafe
import okhttp3.Call
import okhttp3.MediaType
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import okio.Buffer
import okio.BufferedSink
import java.util.concurrent.TimeUnit

/** [bytes] written once, in 16 KiB chunks, length unknown: a one-shot streamed body. */
internal class OneShotBody(
    private val bytes: ByteArray,
) : RequestBody() {
    override fun contentType(): MediaType? = null

    override fun contentLength(): Long = -1

    override fun isOneShot(): Boolean = true

    override fun writeTo(sink: BufferedSink) {
        var at = 0
        while (at < bytes.size) {
            val end = minOf(at + 16384, bytes.size)
            sink.write(bytes, at, end - at)
            sink.flush()
            at = end
        }
    }
}

/**
 * The scenario's request as OkHttp takes it; [options] (hopsafe's per-request settings) go
 * in as a request tag. `null` with the reason when OkHttp refuses to build it.
 */
internal fun okRequest(
    r: HttpRequest,
    stream: Boolean,
    options: HopsafeOptions?,
): Pair<Request?, String?> =
    try {
        val body = r.body?.let { if (stream) OneShotBody(it) else it.toRequestBody(null) }
        Request
            .Builder()
            .url(r.url)
            .apply {
                for (h in r.headers) addHeader(h.name, h.value)
                if (options != null) tag(HopsafeOptions::class.java, options)
            }.method(r.method, body)
            .build() to null
    } catch (e: IllegalArgumentException) {
        null to "OkHttp's Request.Builder refuses this request: ${e.message}"
    }

/** Applies the request's `timeout_ms` as the call's timeout. */
internal fun Call.withTimeout(r: HttpRequest): Call = apply { r.timeoutMs?.let { timeout().timeout(it.toLong(), TimeUnit.MILLISECONDS) } }

/** Records [resp]: head, redirects from [Response.priorResponse], and the body. */
internal fun observe(
    p: Play,
    resp: Response,
) {
    val hops = generateSequence(resp.priorResponse) { it.priorResponse }.toList().asReversed()
    val history = com.google.gson.JsonArray()
    for (h in hops) history.add(hopJson(h.request.method, h.request.url.toString(), h.code))
    p.head(resp.code, resp.request.url.toString(), resp.request.method, resp.hopsafe?.idempotencyKey, history)
    if (!p.readStream) {
        p.body(resp.body.bytes())
        return
    }
    val source = resp.body.source()
    p.readChunks {
        try {
            val chunk = Buffer()
            if (source.read(chunk, 65536) < 0) null else chunk.readByteArray()
        } catch (e: HopsafeIOException) {
            throw e.error
        }
    }
}
