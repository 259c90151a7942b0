// The `kotlin-ktor` conformance column: every scenario through Ktor's client API,
// `HttpClient(Hopsafe) { engine { client = ... } }.prepareRequest { ... }.execute { ... }`, with
// the hopsafe client configured from the scenario exactly as the native Kotlin runner does
// (shared code in Scenarios.kt). `KtorRunner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`.
package dev.hopsafe.ktor.conformance

import dev.hopsafe.HopsafeClient
import dev.hopsafe.HopsafeException
import dev.hopsafe.conformance.Play
import dev.hopsafe.conformance.history
import dev.hopsafe.conformance.runScenarios
import dev.hopsafe.ktor.Hopsafe
import dev.hopsafe.ktor.HopsafeRequestOptions
import dev.hopsafe.ktor.hopsafe
import dev.hopsafe.use
import io.ktor.client.HttpClient
import io.ktor.client.plugins.HttpTimeout
import io.ktor.client.plugins.timeout
import io.ktor.client.request.prepareRequest
import io.ktor.client.request.setBody
import io.ktor.client.request.url
import io.ktor.client.statement.bodyAsChannel
import io.ktor.client.statement.readRawBytes
import io.ktor.http.ContentType
import io.ktor.http.HttpHeaders
import io.ktor.http.HttpMethod
import io.ktor.http.content.ByteArrayContent
import io.ktor.http.content.OutgoingContent
import io.ktor.utils.io.ByteWriteChannel
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.writeFully
import kotlinx.coroutines.runBlocking

/** [bytes] written once, in 16 KiB chunks, length unknown: a one-shot streamed body. */
private class OneShotContent(
    private val bytes: ByteArray,
    override val contentType: ContentType?,
) : OutgoingContent.WriteChannelContent() {
    override suspend fun writeTo(channel: ByteWriteChannel) {
        for (at in bytes.indices step 16384) {
            channel.writeFully(bytes, at, minOf(at + 16384, bytes.size))
            channel.flush()
        }
    }
}

/** The first [HopsafeException] in [e]'s causes (Ktor may wrap a failed body read). */
private fun hopsafeCause(e: Throwable): HopsafeException? =
    generateSequence(e) { it.cause }.filterIsInstance<HopsafeException>().firstOrNull()

/** Sends a scenario's request through Ktor's client on the hopsafe engine. */
internal fun sendKtor(p: Play) {
    val r = p.request
    val type =
        r.headers
            .firstOrNull { it.name.equals(HttpHeaders.ContentType, true) }
            ?.value
            ?.let(ContentType::parse)
    HopsafeClient(p.config).use { client ->
        HttpClient(Hopsafe) {
            engine { this.client = client }
            followRedirects = false
            install(HttpTimeout)
        }.use { http ->
            runBlocking {
                try {
                    val statement =
                        http.prepareRequest {
                            url(r.url)
                            method = HttpMethod.parse(r.method)
                            for (h in r.headers) if (!h.name.equals(HttpHeaders.ContentType, true)) headers.append(h.name, h.value)
                            r.body?.let { setBody(if (p.streamBody) OneShotContent(it, type) else ByteArrayContent(it, type)) }
                            hopsafe(
                                HopsafeRequestOptions(
                                    idempotencyKey = r.idempotencyKey,
                                    followRedirects = r.followRedirects,
                                    maxRedirects = r.maxRedirects?.toInt(),
                                    bufferBody = !p.readStream,
                                ),
                            )
                            r.timeoutMs?.let { ms -> timeout { requestTimeoutMillis = ms.toLong() } }
                        }
                    statement.execute { resp ->
                        val ex = resp.hopsafe ?: error("no hopsafe exchange on the response")
                        p.head(resp.status.value, ex.url, ex.method, ex.idempotencyKey, history(ex.history))
                        if (!p.readStream) {
                            p.body(resp.readRawBytes())
                        } else {
                            val channel = resp.bodyAsChannel()
                            p.readChunks {
                                runBlocking {
                                    try {
                                        val buf = ByteArray(65536)
                                        val n = channel.readAvailable(buf)
                                        if (n < 0) null else buf.copyOf(n)
                                    } catch (e: Exception) {
                                        throw hopsafeCause(e) ?: e
                                    }
                                }
                            }
                        }
                    }
                } catch (e: Exception) {
                    throw hopsafeCause(e) ?: e
                }
            }
        }
    }
}

/** Entry point: see the file comment. */
fun main(args: Array<String>) = runScenarios(args, "kotlin-ktor", ::sendKtor)
