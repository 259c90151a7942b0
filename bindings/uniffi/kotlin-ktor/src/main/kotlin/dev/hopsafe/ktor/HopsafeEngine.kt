package dev.hopsafe.ktor

import dev.hopsafe.BodySource
import dev.hopsafe.Header
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HttpRequest
import dev.hopsafe.send
import dev.hopsafe.sendStreaming
import dev.hopsafe.stream
import io.ktor.client.engine.HttpClientEngineBase
import io.ktor.client.engine.HttpClientEngineCapability
import io.ktor.client.engine.callContext
import io.ktor.client.plugins.HttpTimeoutCapability
import io.ktor.client.request.HttpRequestData
import io.ktor.client.request.HttpResponseData
import io.ktor.http.Headers
import io.ktor.http.HeadersBuilder
import io.ktor.http.HttpHeaders
import io.ktor.http.HttpProtocolVersion
import io.ktor.http.HttpStatusCode
import io.ktor.http.content.OutgoingContent
import io.ktor.util.date.GMTDate
import io.ktor.utils.io.ByteReadChannel
import io.ktor.utils.io.InternalAPI
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.writeFully
import io.ktor.utils.io.writer
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.runBlocking
import kotlin.coroutines.CoroutineContext

/**
 * Sends Ktor requests through a [HopsafeClient]. Errors are the [dev.hopsafe.HopsafeException]
 * subclasses themselves (`ConnectException`, `TooManyRedirectsException`, ...), with `history`
 * and `writeAccepted`; cancelling the calling coroutine aborts the request. The request
 * timeout of Ktor's `HttpTimeout` plugin becomes hopsafe's total timeout for the request.
 */
class HopsafeEngine(
    override val config: HopsafeEngineConfig,
) : HttpClientEngineBase("hopsafe-ktor") {
    private val owned = config.client == null

    /** The client requests go through. */
    val client: HopsafeClient = config.client ?: HopsafeClient(config.clientConfig)

    override val supportedCapabilities: Set<HttpClientEngineCapability<*>> = setOf(HttpTimeoutCapability)

    @InternalAPI
    override suspend fun execute(data: HttpRequestData): HttpResponseData {
        val context = callContext()
        val options = data.attributes.getOrNull(OptionsKey) ?: HopsafeRequestOptions()
        val timeout = data.getCapabilityOrNull(HttpTimeoutCapability)?.requestTimeoutMillis
        val content = unwrap(data.body)
        val headers = mutableListOf<Header>()
        data.headers.forEach { name, values -> values.forEach { headers += Header(name, it) } }
        content.headers.forEach { name, values -> values.forEach { headers += Header(name, it) } }
        content.contentType?.let {
            if (headers.none { h -> h.name.equals(HttpHeaders.ContentType, true) }) {
                headers +=
                    Header(HttpHeaders.ContentType, it.toString())
            }
        }
        val request =
            HttpRequest(
                method = data.method.value,
                url = data.url.toString(),
                headers = headers,
                body = (content as? OutgoingContent.ByteArrayContent)?.bytes(),
                idempotencyKey = options.idempotencyKey,
                followRedirects = options.followRedirects,
                maxRedirects = options.maxRedirects?.toUInt(),
                timeoutMs = timeout?.takeIf { it > 0 && it != Long.MAX_VALUE }?.toULong(),
            )
        val stream = bodyChannel(content, context)
        val sentAt = GMTDate()
        if (stream == null && !options.bufferBody) {
            val resp = client.stream(request)
            data.attributes.put(
                ExchangeKey,
                HopsafeExchange(resp.url, resp.method, resp.history, resp.idempotencyKey, resp.attempts.toInt()),
            )
            val body =
                CoroutineScope(context)
                    .writer {
                        var ended = false
                        try {
                            while (true) {
                                val chunk = resp.body.next() ?: break
                                channel.writeFully(chunk)
                                channel.flush()
                            }
                            ended = true
                        } finally {
                            // Stopping early (the reader went away, an error) aborts the transfer.
                            if (!ended) resp.body.cancel()
                            resp.body.close()
                        }
                    }.channel
            return HttpResponseData(
                HttpStatusCode.fromValue(resp.status.toInt()),
                sentAt,
                headersOf(resp.headers),
                HttpProtocolVersion.HTTP_1_1,
                body,
                context,
            )
        }
        val resp =
            try {
                if (stream != null) client.sendStreaming(request, ChannelSource(stream)) else client.send(request)
            } finally {
                // hopsafe may stop reading early (answered early, not replayable): stop the writer too.
                stream?.cancel(CancellationException("hopsafe is done with the request body"))
            }
        data.attributes.put(ExchangeKey, HopsafeExchange(resp.url, resp.method, resp.history, resp.idempotencyKey, resp.attempts.toInt()))
        return HttpResponseData(
            HttpStatusCode.fromValue(resp.status.toInt()),
            sentAt,
            headersOf(resp.headers),
            HttpProtocolVersion.HTTP_1_1,
            ByteReadChannel(resp.body),
            context,
        )
    }

    override fun close() {
        super.close()
        if (owned) client.close()
    }
}

private fun headersOf(headers: List<Header>): Headers = HeadersBuilder().apply { for (h in headers) append(h.name, h.value) }.build()

private fun unwrap(content: OutgoingContent): OutgoingContent =
    if (content is OutgoingContent.ContentWrapper) unwrap(content.delegate()) else content

/** The body as a channel when it is not a byte array (then hopsafe streams it), else `null`. */
private fun bodyChannel(
    content: OutgoingContent,
    context: CoroutineContext,
): ByteReadChannel? =
    when (content) {
        is OutgoingContent.ByteArrayContent, is OutgoingContent.NoContent -> null
        is OutgoingContent.ReadChannelContent -> content.readFrom()
        is OutgoingContent.WriteChannelContent -> CoroutineScope(context).writer { content.writeTo(channel) }.channel
        else -> throw UnsupportedOperationException("hopsafe-ktor cannot send ${content::class.simpleName}")
    }

/** Hands hopsafe the request body from [channel], 16 KiB at a time (read on hopsafe's thread). */
private class ChannelSource(
    private val channel: ByteReadChannel,
) : BodySource {
    override fun read(): ByteArray? =
        runBlocking {
            val buf = ByteArray(16384)
            val n = channel.readAvailable(buf)
            if (n < 0) null else buf.copyOf(n)
        }
}
