package dev.hopsafe

import com.sun.jna.Native
import com.sun.jna.Pointer
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * [HopsafeClient.requestBlocking] and [HopsafeClient.openBlocking] without JNA `Structure`s (the
 * generated methods call these; see `bindings/uniffi/src/direct.rs`): the request goes in as a
 * `ByteArray`, the answer comes back as the address and length of a Rust buffer, read in place
 * and freed. Both are uniffi's own serialisation, read and written by the generated converters.
 * A large response body is left out of it, as pieces copied once into its array ([bodyOf]).
 */
internal object DirectCalls {
    private const val OK = 0
    private const val ERROR = 1

    /** Each thread's last answer (reused, never shared): see `hopsafe_kt_request_blocking`. */
    private val answer = ThreadLocal.withInitial { LongArray(5) }

    /** Sends [request] on the client with handle clone [client] (taken over by Rust). */
    fun requestBlocking(
        client: Long,
        request: HttpRequest,
        cancel: CancelHandle?,
    ): HttpResponse =
        call(request, { buf, pieces, count ->
            FfiConverterTypeHttpResponse.read(buf).also { if (count > 0) it.body = bodyOf(pieces, count) }
        }) { bytes, out ->
            DirectLib.hopsafe_kt_request_blocking(client, cancel?.uniffiCloneHandle() ?: 0L, bytes, bytes.size, out)
        }

    /** Opens [request] on the client with handle clone [client] (taken over by Rust). */
    fun openBlocking(
        client: Long,
        request: HttpRequest,
        cancel: CancelHandle?,
        handOver: Boolean,
    ): StreamedResponse =
        call(request, { buf, _, _ -> FfiConverterTypeStreamedResponse.read(buf) }) { bytes, out ->
            val hand: Byte = if (handOver) 1 else 0
            DirectLib.hopsafe_kt_open_blocking(client, cancel?.uniffiCloneHandle() ?: 0L, hand, bytes, bytes.size, out)
        }

    /**
     * [request] serialised, passed to [native], and its answer read with [read] (given the
     * address and count of the left-out body's pieces) and freed.
     */
    private inline fun <T> call(
        request: HttpRequest,
        read: (ByteBuffer, Long, Int) -> T,
        native: (ByteArray, LongArray) -> Int,
    ): T {
        val bytes = ByteArray(FfiConverterTypeHttpRequest.allocationSize(request).toInt())
        FfiConverterTypeHttpRequest.write(request, ByteBuffer.wrap(bytes))
        val out = answer.get()
        val code = native(bytes, out)
        val (ptr, len, kept) = Triple(out[0], out[1], out[4])
        try {
            val buf = Pointer(ptr).getByteBuffer(0, len).order(ByteOrder.BIG_ENDIAN)
            return when (code) {
                OK -> read(buf, out[2], out[3].toInt())
                ERROR -> throw FfiConverterTypeHopsafeError.read(buf)
                else -> throw InternalException(ByteArray(len.toInt()).also { buf.get(it) }.decodeToString())
            }
        } finally {
            DirectLib.hopsafe_kt_free(kept)
        }
    }
}

/** A body from [count] `[address, length]` pairs at [pieces], copied into one array. */
internal fun bodyOf(
    pieces: Long,
    count: Int,
): ByteArray {
    val at = Pointer(pieces).getLongArray(0, 2 * count)
    var total = 0L
    for (i in 0 until count) total += at[2 * i + 1]
    val body = ByteArray(Math.toIntExact(total))
    var offset = 0
    for (i in 0 until count) {
        val len = at[2 * i + 1].toInt()
        Pointer(at[2 * i]).read(0, body, offset, len)
        offset += len
    }
    return body
}

/**
 * Registers the `external` functions of [functions] (one of the direct-mapped objects) against
 * the library uniffi's code loads, once that code has loaded it.
 */
internal fun registerDirect(functions: Class<*>) {
    UniffiLib.ensureInitialized()
    val name = System.getProperty("uniffi.component.hopsafe_ffi.libraryOverride") ?: "hopsafe_ffi"
    Native.register(functions, name)
}

/** The direct-mapped functions of `direct.rs`, in the library uniffi's code loads. */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectLib {
    init {
        registerDirect(DirectLib::class.java)
    }

    external fun hopsafe_kt_request_blocking(
        client: Long,
        cancel: Long,
        request: ByteArray,
        requestLen: Int,
        out: LongArray,
    ): Int

    external fun hopsafe_kt_open_blocking(
        client: Long,
        cancel: Long,
        handOver: Byte,
        request: ByteArray,
        requestLen: Int,
        out: LongArray,
    ): Int

    external fun hopsafe_kt_free(kept: Long)
}
