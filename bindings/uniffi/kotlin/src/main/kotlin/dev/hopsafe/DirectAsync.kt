package dev.hopsafe

import com.sun.jna.Callback
import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import com.sun.jna.Pointer
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.suspendCancellableCoroutine
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * [send]'s call without uniffi's future protocol (see `bindings/uniffi/src/direct_async.rs`):
 * one direct-mapped call starts the request on hopsafe's runtime, and a runtime thread
 * answers through one process-wide callback with the address and length of the serialised
 * response or error, read here in place with the generated converters while Rust keeps it.
 * A large response body comes apart, as the addresses and lengths of the pieces it arrived
 * in, each copied once into the body's array (not gathered and serialised in Rust first).
 */
internal object DirectAsync {
    private const val OK = 0
    private const val ERROR = 1

    /** Calls waiting for their answer, by token. */
    private val waiting = ConcurrentHashMap<Long, Waiting>()
    private val tokens = AtomicLong()

    /** How many calls wait for their answer (0 once every call has ended: nothing leaked). */
    val inFlight: Int get() = waiting.size

    /** The callback every answer comes through (kept here, so never collected). */
    private val completion =
        object : DirectAsyncLib.Completion {
            override fun invoke(
                token: Long,
                code: Int,
                ptr: Long,
                len: Long,
                pieces: Long,
                count: Long,
            ) = complete(token, code, ptr, len, pieces, count)
        }

    init {
        // Runtime threads stay attached to the JVM (as daemons) between answers.
        Native.setCallbackThreadInitializer(completion, CallbackThreadInitializer(true, false, "hopsafe-runtime"))
        DirectAsyncLib.hopsafe_kt_async_init(completion)
    }

    /** Sends [request] on [client]; cancelling the coroutine aborts the Rust task. */
    suspend fun request(
        client: HopsafeClient,
        request: HttpRequest,
        cancel: CancelHandle?,
    ): HttpResponse {
        val bytes = ByteArray(FfiConverterTypeHttpRequest.allocationSize(request).toInt())
        FfiConverterTypeHttpRequest.write(request, ByteBuffer.wrap(bytes))
        return suspendCancellableCoroutine { cont ->
            val call = Waiting(cont)
            val token = tokens.incrementAndGet()
            waiting[token] = call
            cont.invokeOnCancellation { call.abort() }
            val started =
                try {
                    client.callWithHandle {
                        DirectAsyncLib.hopsafe_kt_send(it, cancel?.uniffiCloneHandle() ?: 0L, bytes, bytes.size, token)
                    }
                } catch (e: Throwable) {
                    // Not started (a destroyed client or handle): no answer will come.
                    waiting.remove(token)
                    throw e
                }
            call.started(started)
        }
    }

    /** The answer for [token]: resumes its coroutine (never throws: this runs under Rust). */
    private fun complete(
        token: Long,
        code: Int,
        ptr: Long,
        len: Long,
        pieces: Long,
        count: Long,
    ) {
        val call = waiting.remove(token) ?: return
        call.answered()
        val result =
            runCatching {
                val buf = Pointer(ptr).getByteBuffer(0, len).order(ByteOrder.BIG_ENDIAN)
                when (code) {
                    OK -> FfiConverterTypeHttpResponse.read(buf).also { if (count > 0) it.body = bodyOf(pieces, count.toInt()) }
                    ERROR -> throw FfiConverterTypeHopsafeError.read(buf)
                    else -> throw InternalException(ByteArray(len.toInt()).also { buf.get(it) }.decodeToString())
                }
            }
        call.cont.resumeWith(result)
    }

    /**
     * One call in flight. Its Rust address stays valid until its answer has come, so [abort]
     * and [answered] exclude each other: an abort either reaches a live call or does nothing.
     * An abort before the call has started is carried out as soon as it has.
     */
    private class Waiting(
        val cont: CancellableContinuation<HttpResponse>,
    ) {
        private var address = 0L
        private var done = false
        private var aborted = false

        @Synchronized
        fun started(address: Long) {
            if (done) return
            this.address = address
            if (aborted) DirectAsyncLib.hopsafe_kt_abort(address)
        }

        @Synchronized
        fun answered() {
            done = true
        }

        @Synchronized
        fun abort() {
            aborted = true
            if (!done && address != 0L) DirectAsyncLib.hopsafe_kt_abort(address)
        }
    }
}

/** The direct-mapped functions of `direct_async.rs`, in the library uniffi's code loads. */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectAsyncLib {
    init {
        registerDirect(DirectAsyncLib::class.java)
    }

    /**
     * (token, code, address, length) of one answer and (address, count) of its body's
     * `[address, length]` pairs, all readable until it returns.
     */
    interface Completion : Callback {
        fun invoke(
            token: Long,
            code: Int,
            ptr: Long,
            len: Long,
            pieces: Long,
            count: Long,
        )
    }

    external fun hopsafe_kt_async_init(completion: Completion)

    external fun hopsafe_kt_send(
        client: Long,
        cancel: Long,
        request: ByteArray,
        requestLen: Int,
        token: Long,
    ): Long

    external fun hopsafe_kt_abort(started: Long)
}
