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
 */
internal object DirectCalls {
    private const val OK = 0
    private const val ERROR = 1

    /** Address, length and capacity of each thread's last answer (reused, never shared). */
    private val answer = ThreadLocal.withInitial { LongArray(3) }

    /** Sends [request] on the client with handle clone [client] (taken over by Rust). */
    fun requestBlocking(
        client: Long,
        request: HttpRequest,
        cancel: CancelHandle?,
    ): HttpResponse =
        call(request, FfiConverterTypeHttpResponse::read) { bytes, out ->
            DirectLib.hopsafe_kt_request_blocking(client, cancel?.uniffiCloneHandle() ?: 0L, bytes, bytes.size, out)
        }

    /** Opens [request] on the client with handle clone [client] (taken over by Rust). */
    fun openBlocking(
        client: Long,
        request: HttpRequest,
        cancel: CancelHandle?,
        handOver: Boolean,
    ): StreamedResponse =
        call(request, FfiConverterTypeStreamedResponse::read) { bytes, out ->
            val hand: Byte = if (handOver) 1 else 0
            DirectLib.hopsafe_kt_open_blocking(client, cancel?.uniffiCloneHandle() ?: 0L, hand, bytes, bytes.size, out)
        }

    /** [request] serialised, passed to [native], and its answer read with [read] and freed. */
    private inline fun <T> call(
        request: HttpRequest,
        read: (ByteBuffer) -> T,
        native: (ByteArray, LongArray) -> Int,
    ): T {
        val bytes = ByteArray(FfiConverterTypeHttpRequest.allocationSize(request).toInt())
        FfiConverterTypeHttpRequest.write(request, ByteBuffer.wrap(bytes))
        val out = answer.get()
        val code = native(bytes, out)
        val (ptr, len, capacity) = Triple(out[0], out[1], out[2])
        try {
            val buf = Pointer(ptr).getByteBuffer(0, len).order(ByteOrder.BIG_ENDIAN)
            return when (code) {
                OK -> read(buf)
                ERROR -> throw FfiConverterTypeHopsafeError.read(buf)
                else -> throw InternalException(ByteArray(len.toInt()).also { buf.get(it) }.decodeToString())
            }
        } finally {
            DirectLib.hopsafe_kt_free(ptr, len, capacity)
        }
    }
}

/** The direct-mapped functions of `direct.rs`, in the library uniffi's code loads. */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectLib {
    init {
        UniffiLib.ensureInitialized()
        val name = System.getProperty("uniffi.component.hopsafe_ffi.libraryOverride") ?: "hopsafe_ffi"
        Native.register(DirectLib::class.java, name)
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

    external fun hopsafe_kt_free(
        ptr: Long,
        len: Long,
        capacity: Long,
    )
}
