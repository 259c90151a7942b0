package dev.hopsafe

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native

/**
 * Sends [request] like [HopsafeClient.request] (follows redirects, retries as configured,
 * reads the whole body; cancelling the coroutine or [cancel] aborts it), and is the faster
 * way to call it: hopsafe's runtime threads complete each suspend call through a JNA
 * callback, and JNA by default attaches a thread to the JVM for every callback and detaches
 * it after. `send` keeps those threads attached (as daemons) instead.
 */
suspend fun HopsafeClient.send(
    request: HttpRequest,
    cancel: CancelHandle? = null,
): HttpResponse {
    CallbackThreads.keptAttached
    return request(request, cancel)
}

/**
 * Sends [request] with its body read from [body] while it is sent, like
 * [HopsafeClient.requestStreaming], with the runtime threads kept attached as for [send].
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
