package dev.hopsafe

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.security.MessageDigest

/** The suspend `send` goes through `DirectAsync` (the direct calls of `direct_async.rs`). */
class DirectAsyncTest {
    private val a = TestServer.origin("a")
    private val client = HopsafeClient(ClientConfig(maxRedirects = 1u))

    /** A script whose only step answers after 5 s; returns its URL. */
    private fun slow(): String = "$a/s/" + TestServer.script("""[{"status":200,"faults":["delay_ms:5000"]}]""") + "/0"

    /** The [T] that [block] throws (fails the test if it returns or throws something else). */
    private suspend inline fun <reified T : Throwable> fails(block: suspend () -> Unit): T {
        try {
            block()
        } catch (e: Throwable) {
            if (e is T) return e
            throw AssertionError("expected ${T::class.simpleName}, got $e", e)
        }
        throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
    }

    /** Waits (up to 2 s) until no call waits for its answer. */
    private fun assertNothingInFlight() {
        val until = System.nanoTime() + 2_000_000_000L
        while (DirectAsync.inFlight != 0 && System.nanoTime() < until) Thread.sleep(10)
        assertEquals(0, DirectAsync.inFlight)
    }

    @Test
    fun `a large body comes back byte for byte`() =
        runBlocking {
            val size = 12 shl 20
            val id = TestServer.script("""[{"status":200,"body_bytes":$size}]""")
            val resp = client.send(HttpRequest("GET", "$a/s/$id/0"))
            assertEquals(200, resp.status.toInt())
            assertArrayEquals(pattern(0, size), resp.body)
        }

    @Test
    fun `a POST keeps method and body over a 307`() =
        runBlocking {
            val body = ByteArray(3 shl 20) { (it % 251).toByte() }
            val resp = client.send(HttpRequest("POST", TestServer.redirect(a, 307, "$a/echo"), body = body))
            val echo = resp.body.decodeToString()
            val sha256 = MessageDigest.getInstance("SHA-256").digest(body).joinToString("") { "%02x".format(it) }
            assertTrue("\"method\":\"POST\"" in echo && "\"body_sha256\":\"$sha256\"" in echo, echo)
            assertEquals(listOf(307.toUShort()), resp.history.map { it.status })
            assertEquals("$a/echo", resp.url)
        }

    @Test
    fun `failures are the typed exceptions with their fields`() =
        runBlocking {
            fails<InvalidUrlException> { client.send(HttpRequest("GET", "not a url")) }
            fails<ConnectException> { client.send(HttpRequest("GET", "http://127.0.0.1:1/")) }
            val twice = TestServer.redirect(a, 302, TestServer.redirect(a, 302, "$a/echo"))
            val e = fails<TooManyRedirectsException> { client.send(HttpRequest("GET", twice)) }
            assertEquals(2, e.history.size)
            val handle = CancelHandle().also { it.cancel() }
            val c = fails<CancelledException> { client.send(HttpRequest("GET", "$a/echo"), handle) }
            assertEquals("request cancelled", c.detail)
            assertNothingInFlight()
        }

    @Test
    fun `a CancelHandle ends an in-flight call with Cancelled`() =
        runBlocking {
            val handle = CancelHandle()
            launch {
                delay(200)
                handle.cancel()
            }
            val started = System.nanoTime()
            fails<CancelledException> { client.send(HttpRequest("GET", slow()), handle) }
            val ms = (System.nanoTime() - started) / 1_000_000
            assertTrue(ms < 2000, "cancellation took $ms ms")
            assertNothingInFlight()
        }

    @Test
    fun `cancelling the coroutine aborts the in-flight call and leaks nothing`() {
        val started = System.nanoTime()
        assertThrows<TimeoutCancellationException> {
            runBlocking { withTimeout(200) { client.send(HttpRequest("GET", slow())) } }
        }
        val ms = (System.nanoTime() - started) / 1_000_000
        assertTrue(ms < 2000, "cancellation took $ms ms")
        assertNothingInFlight()
        // The client goes on working after the abort.
        assertEquals("GET", runBlocking { client.send(HttpRequest("GET", "$a/echo")) }.method)
    }

    @Test
    fun `cancellations racing completions neither leak nor answer twice`() {
        runBlocking(Dispatchers.Default) {
            val ended =
                List(400) { i ->
                    async {
                        // Timeouts around a loopback request's time, so some land before its
                        // answer, some while it is being delivered, some after.
                        withTimeoutOrNull((i % 5).toLong()) { client.send(HttpRequest("GET", "$a/echo")) } != null
                    }
                }.awaitAll()
            assertTrue(ended.any { !it }, "no call was cancelled")
        }
        assertNothingInFlight()
    }

    @Test
    fun `many coroutines failing and succeeding at once each get their own answer`() {
        runBlocking(Dispatchers.Default) {
            List(64) { t ->
                launch {
                    repeat(20) { i ->
                        when ((i + t) % 3) {
                            0 -> assertEquals("GET", Echo(client.send(HttpRequest("GET", "$a/echo"))).method)
                            1 -> fails<InvalidMethodException> { client.send(HttpRequest("GE T", "$a/echo")) }
                            else -> {
                                val body = "$t-$i".toByteArray()
                                assertEquals("$t-$i", Echo(client.send(HttpRequest("POST", "$a/echo", body = body))).body)
                            }
                        }
                    }
                }
            }
        }
        assertNothingInFlight()
    }
}
