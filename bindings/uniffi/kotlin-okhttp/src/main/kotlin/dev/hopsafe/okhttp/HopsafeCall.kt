package dev.hopsafe.okhttp

import dev.hopsafe.CancelHandle
import dev.hopsafe.HopsafeException
import okhttp3.Call
import okhttp3.Callback
import okhttp3.EventListener
import okhttp3.Request
import okhttp3.Response
import okio.Timeout
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.reflect.KClass

/**
 * One call through hopsafe. [timeout] is the call's total timeout (0, the default, leaves the
 * client's), handed to hopsafe as the request's `timeoutMs`; [cancel] aborts the call,
 * including a response body being read. Event listeners hear `callStart`, `callEnd` (once
 * the response head is in), `callFailed` and `canceled`; the connection-level events are
 * hopsafe's own (see its tracing).
 */
internal class HopsafeCall(
    private val factory: HopsafeCallFactory,
    private val original: Request,
) : Call {
    private val executed = AtomicBoolean()
    private val handle = CancelHandle()
    private val timeout = Timeout()
    private val tags = ConcurrentHashMap<Class<*>, Any>()
    private val listeners = CopyOnWriteArrayList<EventListener>()

    @Volatile private var canceled = false

    @Volatile private var streamed: dev.hopsafe.ResponseBody? = null

    override fun request(): Request = original

    override fun execute(): Response {
        check(executed.compareAndSet(false, true)) { "Already Executed" }
        return send()
    }

    override fun enqueue(responseCallback: Callback) {
        check(executed.compareAndSet(false, true)) { "Already Executed" }
        factory.executor.execute {
            val response =
                try {
                    send()
                } catch (e: IOException) {
                    responseCallback.onFailure(this, e)
                    return@execute
                }
            responseCallback.onResponse(this, response)
        }
    }

    override fun addEventListener(eventListener: EventListener) {
        listeners += eventListener
    }

    override fun cancel() {
        if (!canceled) listeners.forEach { it.canceled(this) }
        canceled = true
        handle.cancel()
        streamed?.cancelQuietly()
    }

    override fun isExecuted(): Boolean = executed.get()

    override fun isCanceled(): Boolean = canceled

    override fun timeout(): Timeout = timeout

    override fun <T : Any> tag(type: KClass<T>): T? = tag(type.java)

    override fun <T> tag(type: Class<out T>): T? = type.cast(tags[type])

    override fun <T : Any> tag(
        type: KClass<T>,
        computeIfAbsent: () -> T,
    ): T = tag(type.java, computeIfAbsent)

    override fun <T : Any> tag(
        type: Class<T>,
        computeIfAbsent: () -> T,
    ): T = type.cast(tags.computeIfAbsent(type) { computeIfAbsent() })

    override fun clone(): Call = HopsafeCall(factory, original)

    /** [exchange] with the listeners told of its start, end or failure. */
    private fun send(): Response {
        listeners.forEach { it.callStart(this) }
        val response =
            try {
                exchange()
            } catch (e: IOException) {
                listeners.forEach { it.callFailed(this, e) }
                throw e
            }
        listeners.forEach { it.callEnd(this) }
        return response
    }

    /** Sends [original] through the factory's client and maps the answer back. */
    private fun exchange(): Response {
        if (canceled) throw IOException("Canceled")
        val options = original.tag(HopsafeOptions::class.java) ?: HopsafeOptions()
        val timeoutMs =
            timeout.timeoutNanos().takeIf { it > 0 }?.let {
                TimeUnit.NANOSECONDS
                    .toMillis(it)
                    .coerceAtLeast(1)
                    .toULong()
            }
        val (request, piped) = toHopsafe(original, options, timeoutMs)
        val sentAt = System.currentTimeMillis()
        val client = factory.client
        try {
            if (piped == null && !options.bufferBody) {
                // A body that arrived with the head comes with it: a small one needs no more calls.
                val resp = client.openBlocking(request, handle, handOver = true)
                streamed = resp.body
                if (canceled) resp.body.cancelQuietly()
                val exchange = HopsafeExchange(resp.history, resp.idempotencyKey, resp.attempts.toInt())
                val body = streamedBody(resp)
                return toOkHttp(original, resp.status, resp.url, resp.method, resp.headers, exchange, body, sentAt)
            }
            val resp =
                if (piped != null) {
                    client.requestStreamingBlocking(request, piped, handle)
                } else {
                    client.requestBlocking(request, handle)
                }
            val exchange = HopsafeExchange(resp.history, resp.idempotencyKey, resp.attempts.toInt())
            val body = bufferedBody(resp.body, resp.headers)
            return toOkHttp(original, resp.status, resp.url, resp.method, resp.headers, exchange, body, sentAt)
        } catch (e: HopsafeException) {
            throw HopsafeIOException(e)
        } finally {
            piped?.close()
        }
    }
}
