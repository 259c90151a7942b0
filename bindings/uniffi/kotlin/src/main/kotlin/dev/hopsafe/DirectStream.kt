package dev.hopsafe

import com.sun.jna.Pointer
import java.io.IOException
import java.nio.ByteOrder

/**
 * A [ResponseBody] read in native chunks (see `bindings/uniffi/src/direct_stream.rs`): each
 * chunk stays in Rust, [read] copies from it straight into the caller's array, and the next
 * chunk frees it. No `ByteArray` per chunk, so a long download makes no garbage. One reader
 * per stream, used by one thread at a time; [close] (or the collector, for a reader dropped
 * unclosed) frees it. It does not keep the body alive: destroying the [ResponseBody] (closing
 * the response) still aborts the transfer, and a read after that throws `Cancelled`.
 */
internal class NativeBodyReader(
    body: ResponseBody,
) {
    private val handle = Handle(body.callWithHandle { DirectStreamLib.hopsafe_kt_body_reader(it) })
    private val cleanable = UniffiLib.CLEANER.register(this, handle)
    private val out = LongArray(2)
    private var chunk: Pointer? = null
    private var size = 0
    private var at = 0
    private var ended = false

    init {
        if (handle.reader == 0L) throw InternalException("not a live response body")
    }

    /** Bytes of the current chunk not read yet. */
    val available: Int get() = size - at

    /** Whether the body was read to its end. */
    val isEnded: Boolean get() = ended && at >= size

    /**
     * Copies up to [len] bytes into [b] at [off], waiting for the next chunk when this one is
     * used up; -1 at the end. A failed read throws the [HopsafeException].
     */
    fun read(
        b: ByteArray,
        off: Int,
        len: Int,
    ): Int {
        if (at >= size && !fetch(wait = true)) return -1
        val n = minOf(len, size - at)
        chunk!!.read(at.toLong(), b, off, n)
        at += n
        return n
    }

    /**
     * The next bytes as a new array of at most [max], if they are here without waiting; null
     * at the end or when the next chunk has not arrived yet ([isEnded] tells which).
     */
    fun takeReady(max: Int): ByteArray? {
        if (at >= size && !fetch(wait = false)) return null
        return ByteArray(minOf(max, size - at)).also { read(it, 0, it.size) }
    }

    /**
     * The next chunk in place of the current one: false at the end of the body or, without
     * [wait], when it has not arrived yet.
     */
    private fun fetch(wait: Boolean): Boolean {
        if (ended) return false
        if (handle.reader == 0L) throw IOException("the response body stream is closed")
        val code = DirectStreamLib.hopsafe_kt_body_next(handle.reader, (if (wait) 1 else 0).toByte(), out)
        chunk = null
        at = 0
        size = 0
        return when (code) {
            CHUNK -> {
                chunk = Pointer(out[0])
                size = out[1].toInt()
                true
            }
            END -> {
                ended = true
                false
            }
            PENDING -> false
            ERROR -> throw FfiConverterTypeHopsafeError.read(answer())
            else -> throw InternalException(ByteArray(out[1].toInt()).also { answer().get(it) }.decodeToString())
        }
    }

    private fun answer() = Pointer(out[0]).getByteBuffer(0, out[1]).order(ByteOrder.BIG_ENDIAN)

    /** Frees the native reader and the chunk it holds (later reads throw). */
    fun close() {
        chunk = null
        size = 0
        at = 0
        cleanable.clean()
    }

    /** The native reader, freed once (by [close] or the collector), never while in use. */
    private class Handle(
        @Volatile var reader: Long,
    ) : Runnable {
        override fun run() {
            val r = reader
            reader = 0L
            if (r != 0L) DirectStreamLib.hopsafe_kt_body_free(r)
        }
    }

    private companion object {
        const val CHUNK = 0
        const val ERROR = 1
        const val END = 3
        const val PENDING = 4
    }
}

/** The direct-mapped functions of `direct_stream.rs`. */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectStreamLib {
    init {
        registerDirect(DirectStreamLib::class.java)
    }

    external fun hopsafe_kt_body_reader(body: Long): Long

    external fun hopsafe_kt_body_next(
        reader: Long,
        wait: Byte,
        out: LongArray,
    ): Int

    external fun hopsafe_kt_body_free(reader: Long)
}
