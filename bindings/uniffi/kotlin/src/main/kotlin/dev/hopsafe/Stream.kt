package dev.hopsafe

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.io.IOException
import java.io.InputStream

/**
 * Sends [request] like [send] but returns as soon as the response head is in; read the body
 * as it arrives with [ResponseBody.asFlow] or [ResponseBody.inputStream]. Close the response
 * (`response.use { ... }`, with `import dev.hopsafe.use`) when done: leaving early aborts the
 * transfer; a body read to its end returns the connection to the pool.
 */
suspend fun HopsafeClient.stream(
    request: HttpRequest,
    cancel: CancelHandle? = null,
): StreamedResponse {
    CallbackThreads.keptAttached
    return open(request, cancel)
}

/**
 * The body as a cold [Flow] of chunks, collected once. Cancelling the collecting coroutine,
 * an exception in the collector or stopping early (`take`, `first`) aborts the transfer.
 */
fun ResponseBody.asFlow(): Flow<ByteArray> =
    flow {
        CallbackThreads.keptAttached
        // Bytes already here are copied from the native chunk into the array emitted (at most
        // FLOW_CHUNK_MAX, well under G1's humongous size); only a wait goes through `next`.
        val reader = NativeBodyReader(this@asFlow)
        var ended = false
        try {
            while (true) {
                val chunk =
                    reader.takeReady(FLOW_CHUNK_MAX)
                        ?: if (reader.isEnded) break else next() ?: break
                emit(chunk)
            }
            ended = true
        } finally {
            reader.close()
            if (!ended) cancelQuietly()
        }
    }

/** The largest array [asFlow] emits. */
private const val FLOW_CHUNK_MAX = 256 * 1024

/**
 * The body as a blocking [InputStream], read on the calling thread (never on a coroutine
 * dispatcher thread you cannot block). A failed read throws [IOException] whose cause is the
 * [HopsafeException]; closing it before the end aborts the transfer.
 */
fun ResponseBody.inputStream(): InputStream = BodyInputStream(this)

/** Cancels unless the body was already destroyed (closing twice is harmless). */
private fun ResponseBody.cancelQuietly() {
    try {
        cancel()
    } catch (_: IllegalStateException) {
        // destroyed: the transfer is already gone
    }
}

/**
 * Reads [body] through a [NativeBodyReader]: each `read` copies from the native chunk straight
 * into the caller's array. Reads hold [lock]; [close] cancels first, so a read blocked on the
 * network returns before the reader is freed.
 */
private class BodyInputStream(
    private val body: ResponseBody,
) : InputStream() {
    private val lock = Any()
    private var reader: NativeBodyReader? = null
    private var ended = false

    @Volatile private var closed = false

    override fun read(): Int {
        val one = ByteArray(1)
        return if (read(one, 0, 1) < 0) -1 else one[0].toInt() and 0xff
    }

    override fun read(
        b: ByteArray,
        off: Int,
        len: Int,
    ): Int {
        java.util.Objects.checkFromIndexSize(off, len, b.size)
        synchronized(lock) {
            if (closed) throw IOException("the response body stream is closed")
            if (len == 0) return 0
            if (ended) return -1
            val open = reader ?: NativeBodyReader(body).also { reader = it }
            val n =
                try {
                    open.read(b, off, len)
                } catch (e: HopsafeException) {
                    throw IOException(e.message, e)
                } catch (e: InternalException) {
                    throw IOException(e.message, e)
                }
            if (n < 0) {
                ended = true
                open.close()
                reader = null
            }
            return n
        }
    }

    override fun available(): Int = if (closed) 0 else reader?.available ?: 0

    override fun close() {
        if (closed) return
        closed = true
        if (!ended) body.cancelQuietly()
        synchronized(lock) {
            reader?.close()
            reader = null
        }
    }
}
