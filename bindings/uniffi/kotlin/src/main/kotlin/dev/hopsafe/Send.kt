package dev.hopsafe

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native

/**
 * Sends [request] like [HopsafeClient.request] (follows redirects, retries as configured,
 * reads the whole body; cancelling the coroutine or [cancel] aborts it), and is the faster
 * way to call it: one direct call starts it and one callback answers it (see `DirectAsync`),
 * instead of uniffi's polling, whose calls pass every buffer and status as a JNA `Structure`.
 * The runtime threads answering stay attached to the JVM (as daemons) between answers.
 */
suspend fun HopsafeClient.send(
    request: HttpRequest,
    cancel: CancelHandle? = null,
): HttpResponse = DirectAsync.request(this, request, cancel)

/**
 * Sends [request] with its body read from [body] while it is sent, like
 * [HopsafeClient.requestStreaming] (uniffi's call: the body source calls back into Kotlin),
 * with the runtime threads kept attached as for [send].
 */
suspend fun HopsafeClient.sendStreaming(
    request: HttpRequest,
    body: BodySource,
    cancel: CancelHandle? = null,
): HttpResponse {
    CallbackThreads.keptAttached
    return requestStreaming(request, body, cancel)
}

/** Registers the thread policy for the completion callback, once per process. */
internal object CallbackThreads {
    val keptAttached: Unit =
        Native.setCallbackThreadInitializer(
            uniffiRustFutureContinuationCallbackImpl,
            CallbackThreadInitializer(true, false, "hopsafe-runtime"),
        )
}
