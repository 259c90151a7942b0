package dev.hopsafe.okhttp

import dev.hopsafe.Hop
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HopsafeException
import dev.hopsafe.IdempotencyKey
import okhttp3.Call
import okhttp3.Request
import okhttp3.Response
import java.io.IOException
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ThreadFactory
import java.util.concurrent.atomic.AtomicInteger

/**
 * An OkHttp [Call.Factory] that sends every call through [client]: hopsafe follows the
 * redirects (307/308 keep method and body, credentials are stripped cross-origin, one
 * `Idempotency-Key` across hops and retries) and OkHttp code sees the final response.
 *
 * ```
 * Retrofit.Builder().baseUrl(url).callFactory(HopsafeCallFactory(client)).build()
 * ```
 *
 * Transport options (TLS, proxies, retries, timeouts, cookies) are the [client]'s; OkHttp
 * interceptors do not run. [Call.enqueue] runs calls on [executor] (by default a shared pool
 * of daemon threads). The caller owns [client] and closes it.
 */
class HopsafeCallFactory
    @JvmOverloads
    constructor(
        /** The hopsafe client every call goes through. */
        val client: HopsafeClient,
        /** Where [Call.enqueue] runs calls. */
        val executor: ExecutorService = defaultExecutor,
    ) : Call.Factory {
        override fun newCall(request: Request): Call = HopsafeCall(this, request)

        private companion object {
            private val threads = AtomicInteger()
            val defaultExecutor: ExecutorService by lazy {
                Executors.newCachedThreadPool(
                    ThreadFactory { r ->
                        Thread(r, "hopsafe-okhttp-${threads.incrementAndGet()}").apply { isDaemon = true }
                    },
                )
            }
        }
    }

/**
 * Per-request hopsafe options, as an OkHttp request tag:
 * `Request.Builder().tag(HopsafeOptions::class.java, HopsafeOptions(idempotencyKey = IdempotencyKey.Use("order-42")))`.
 * `null` fields keep the client's setting. An `Idempotency-Key` request header is sent as
 * given and counts as supplied by the caller, like [idempotencyKey] = `Use`.
 */
data class HopsafeOptions(
    /** `Generate`, `Off` or `Use(key)`; `null` = the client's default. */
    val idempotencyKey: IdempotencyKey? = null,
    /** Follow redirects for this request (`false`: the 3xx is the response). */
    val followRedirects: Boolean? = null,
    /** At most this many redirects for this request. */
    val maxRedirects: Int? = null,
    /**
     * Read the whole body inside hopsafe before [Call.execute] returns, so the client's
     * `maxBodySize` applies (a larger body fails with [HopsafeIOException] caused by
     * `ResponseTooLargeException`). By default the body streams from hopsafe as it is read.
     */
    val bufferBody: Boolean = false,
)

/**
 * What hopsafe did for a response, a tag on its request: `response.hopsafe` or
 * `response.request.tag(HopsafeExchange::class.java)`. [Response.priorResponse] holds the
 * same redirects as OkHttp's own chain of bodiless responses.
 */
data class HopsafeExchange(
    /** The redirects followed, oldest first, with what was dropped on each hop. */
    val history: List<Hop>,
    /** The `Idempotency-Key` sent (the same on every hop and retry), if any. */
    val idempotencyKey: String?,
    /** Attempts made for the final hop (1 = no retry). */
    val attempts: Int,
)

/** What hopsafe did for this response (history, idempotency key), if hopsafe sent it. */
val Response.hopsafe: HopsafeExchange? get() = request.tag(HopsafeExchange::class.java)

/**
 * The [IOException] OkHttp code expects, for every hopsafe failure: [error] (also [cause]) is
 * the [HopsafeException] with its class (`ConnectException`, `TooManyRedirectsException`,
 * ...), `history` and `writeAccepted`. A cancelled call fails with message `Canceled`, as in
 * OkHttp.
 */
class HopsafeIOException(
    /** The hopsafe error. */
    val error: HopsafeException,
) : IOException(if (error is dev.hopsafe.CancelledException) "Canceled" else error.message, error)
