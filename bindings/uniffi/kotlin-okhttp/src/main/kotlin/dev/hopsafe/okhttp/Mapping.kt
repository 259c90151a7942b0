package dev.hopsafe.okhttp

import dev.hopsafe.BodySource
import dev.hopsafe.Header
import dev.hopsafe.HopsafeException
import dev.hopsafe.HttpRequest
import dev.hopsafe.StreamedResponse
import dev.hopsafe.inputStream
import okhttp3.Headers
import okhttp3.MediaType
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.Protocol
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import okhttp3.ResponseBody
import okhttp3.ResponseBody.Companion.asResponseBody
import okhttp3.ResponseBody.Companion.toResponseBody
import okio.Buffer
import okio.BufferedSource
import okio.ForwardingSource
import okio.Pipe
import okio.buffer
import okio.source
import java.io.ByteArrayInputStream
import java.io.Closeable
import java.io.IOException
import java.io.SequenceInputStream

/**
 * The hopsafe request for an OkHttp one: method, URL, headers (plus the body's
 * `Content-Type` when no header sets it) and body. A body of known length is read into
 * bytes (hopsafe replays it on 307/308 and retries); a one-shot or unknown-length one is
 * streamed through the returned [PipedBody].
 */
internal fun toHopsafe(
    r: Request,
    o: HopsafeOptions,
    timeoutMs: ULong?,
): Pair<HttpRequest, PipedBody?> {
    val headers = r.headers.map { (name, value) -> Header(name, value) }.toMutableList()
    val body = r.body
    val type = body?.contentType()
    if (type != null && r.header("Content-Type") == null) headers += Header("content-type", type.toString())
    val stream = body != null && (body.isOneShot() || body.isDuplex() || body.contentLength() < 0)
    val bytes = if (body != null && !stream) Buffer().also { body.writeTo(it) }.readByteArray() else null
    val request =
        HttpRequest(
            method = r.method,
            url = r.url.toString(),
            headers = headers,
            body = bytes,
            idempotencyKey = o.idempotencyKey,
            followRedirects = o.followRedirects,
            maxRedirects = o.maxRedirects?.toUInt(),
            timeoutMs = timeoutMs,
        )
    return request to if (stream && body != null) PipedBody(body) else null
}

/** The OkHttp response: the final status, headers and body, the redirects as [Response.priorResponse]. */
internal fun toOkHttp(
    original: Request,
    status: UShort,
    url: String,
    method: String,
    headers: List<Header>,
    exchange: HopsafeExchange,
    body: ResponseBody,
    sentAt: Long,
): Response {
    val dropped = exchange.history.flatMap { hop -> hop.dropped.map { it.name } }
    var prior: Response? = null
    for (hop in exchange.history) {
        prior =
            Response
                .Builder()
                .request(requestAs(original, hop.url, hop.method, emptyList()))
                .protocol(Protocol.HTTP_1_1)
                .code(hop.status.toInt())
                .message("")
                .headers(Headers.Builder().apply { hop.location?.let { addUnsafeNonAscii("Location", it) } }.build())
                .priorResponse(prior)
                .sentRequestAtMillis(sentAt)
                .receivedResponseAtMillis(sentAt)
                .build()
    }
    val final =
        requestAs(original, url, method, dropped)
            .newBuilder()
            .tag(HopsafeExchange::class.java, exchange)
            .build()
    return Response
        .Builder()
        .request(final)
        .protocol(Protocol.HTTP_1_1)
        .code(status.toInt())
        .message("")
        .headers(Headers.Builder().apply { for (h in headers) addUnsafeNonAscii(h.name, h.value) }.build())
        .body(body)
        .priorResponse(prior)
        .sentRequestAtMillis(sentAt)
        .receivedResponseAtMillis(System.currentTimeMillis())
        .build()
}

/** [r] as sent to [url] with [method], without the headers hopsafe [dropped] on the way. */
private fun requestAs(
    r: Request,
    url: String,
    method: String,
    dropped: List<String>,
): Request {
    val body =
        when {
            method == r.method -> r.body
            method == "GET" || method == "HEAD" -> null
            else -> r.body ?: ByteArray(0).toRequestBody()
        }
    return r
        .newBuilder()
        .url(url)
        .method(method, body)
        .apply { for (name in dropped) removeHeader(name) }
        .build()
}

private fun List<Header>.value(name: String): String? = firstOrNull { it.name.equals(name, ignoreCase = true) }?.value

/** A body hopsafe read whole. */
internal fun bufferedBody(
    bytes: ByteArray,
    headers: List<Header>,
): ResponseBody = bytes.toResponseBody(headers.value("content-type")?.toMediaTypeOrNull())

/**
 * The body of [resp]: the bytes handed over with the head (`first`), then, unless that was the
 * whole body (`ended`: hopsafe is then done with it), the rest streaming from hopsafe as it is
 * read. Its length is the `Content-Length` unless hopsafe decoded the body (then it is
 * unknown, -1).
 */
internal fun streamedBody(resp: StreamedResponse): ResponseBody {
    val headers = resp.headers
    val length =
        if (resp.method == "HEAD" || headers.value("content-encoding") != null) {
            -1L
        } else {
            headers.value("content-length")?.toLongOrNull() ?: -1L
        }
    val type = headers.value("content-type")?.toMediaTypeOrNull()
    if (resp.ended) {
        resp.body.close()
        return Buffer().write(resp.first ?: ByteArray(0)).asResponseBody(type, length)
    }
    return StreamedBody(resp.body, resp.first, type, length)
}

private class StreamedBody(
    private val body: dev.hopsafe.ResponseBody,
    private val first: ByteArray?,
    private val type: MediaType?,
    private val length: Long,
) : ResponseBody() {
    private val source: BufferedSource by lazy {
        val rest = body.inputStream()
        val stream = if (first == null) rest else SequenceInputStream(ByteArrayInputStream(first), rest)
        HopsafeSource(stream.source()).buffer()
    }

    override fun contentType(): MediaType? = type

    override fun contentLength(): Long = length

    override fun source(): BufferedSource = source

    override fun close() {
        // Closing before the end aborts the transfer; a body read to its end is already done.
        source.close()
        body.close()
    }
}

/** Turns the stream's `IOException(cause = HopsafeException)` into a [HopsafeIOException]. */
private class HopsafeSource(
    delegate: okio.Source,
) : ForwardingSource(delegate) {
    override fun read(
        sink: Buffer,
        byteCount: Long,
    ): Long =
        try {
            super.read(sink, byteCount)
        } catch (e: IOException) {
            val cause = e.cause
            throw if (e !is HopsafeIOException && cause is HopsafeException) HopsafeIOException(cause) else e
        }
}

/** Cancels the transfer unless the body is already gone. */
internal fun dev.hopsafe.ResponseBody.cancelQuietly() {
    try {
        cancel()
    } catch (_: IllegalStateException) {
        // destroyed: nothing left to cancel
    }
}

/**
 * Feeds a one-shot or unknown-length [RequestBody] to hopsafe: a daemon thread writes it into
 * a pipe that hopsafe's reads drain, so it is never held whole. A failed write fails the read
 * (hopsafe then reports `BodyStreamException`), never ends the body early.
 */
internal class PipedBody(
    body: RequestBody,
) : BodySource,
    Closeable {
    private val pipe = Pipe(64 * 1024)

    @Volatile private var failure: Throwable? = null

    init {
        Thread({
            val sink = pipe.sink.buffer()
            try {
                body.writeTo(sink)
                sink.close()
            } catch (e: Throwable) {
                failure = e
                pipe.cancel()
            }
        }, "hopsafe-okhttp-body").apply {
            isDaemon = true
            start()
        }
    }

    override fun read(): ByteArray? {
        val chunk = Buffer()
        val n =
            try {
                pipe.source.read(chunk, 16384)
            } catch (e: IOException) {
                throw IOException("the request body failed: ${failure ?: e}", failure ?: e)
            }
        return if (n < 0) null else chunk.readByteArray()
    }

    /** Stops the writer if hopsafe stopped reading early. */
    override fun close() = pipe.cancel()
}
