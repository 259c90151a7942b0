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
        var ended = false
        try {
            while (true) {
                val chunk = next() ?: break
                emit(chunk)
            }
            ended = true
        } finally {
            if (!ended) cancelQuietly()
        }
    }

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

private class BodyInputStream(
    private val body: ResponseBody,
) : InputStream() {
    private var chunk = ByteArray(0)
    private var at = 0
    private var ended = false
    private var closed = false

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
        if (len == 0) return 0
        if (!fill()) return -1
        val n = minOf(len, chunk.size - at)
        System.arraycopy(chunk, at, b, off, n)
        at += n
        return n
    }

    override fun available(): Int = if (closed) 0 else chunk.size - at

    override fun close() {
        if (closed) return
        closed = true
        if (!ended) body.cancelQuietly()
    }

    /** Makes sure unread bytes are in [chunk]; false at the end of the body. */
    private fun fill(): Boolean {
        if (closed) throw IOException("the response body stream is closed")
        while (at >= chunk.size) {
            if (ended) return false
            val next =
                try {
                    body.nextBlocking()
                } catch (e: HopsafeException) {
                    throw IOException(e.message, e)
                }
            if (next == null) {
                ended = true
                return false
            }
            chunk = next
            at = 0
        }
        return true
    }
}
