package dev.hopsafe

import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

class CancelTest {
    private val client = HopsafeClient(ClientConfig())

    /** A script whose only step answers after 5 s; returns its URL. */
    private fun slow(): String =
        TestServer.origin("a") + "/s/" + TestServer.script("""[{"status":200,"faults":["delay_ms:5000"]}]""") + "/0"

    @Test
    fun `cancelling the coroutine aborts the request`() {
        val started = System.nanoTime()
        assertThrows<TimeoutCancellationException> {
            runBlocking { withTimeout(200) { client.request(HttpRequest("GET", slow())) } }
        }
        val ms = (System.nanoTime() - started) / 1_000_000
        assertTrue(ms < 2000, "cancellation took $ms ms")
    }

    @Test
    fun `a CancelHandle stops a blocking call with Cancelled`() {
        val handle = CancelHandle()
        val timer = Executors.newSingleThreadScheduledExecutor()
        timer.schedule({ handle.cancel() }, 200, TimeUnit.MILLISECONDS)
        val started = System.nanoTime()
        val e =
            assertThrows<CancelledException> {
                client.requestBlocking(HttpRequest("GET", slow()), handle)
            }
        val ms = (System.nanoTime() - started) / 1_000_000
        timer.shutdown()
        assertTrue(ms < 2000, "cancellation took $ms ms")
        assertTrue(handle.isCancelled())
        assertEquals("request cancelled", e.detail)
    }

    @Test
    fun `a cancelled handle fails the next call at once`() {
        val handle = CancelHandle().also { it.cancel() }
        assertThrows<CancelledException> {
            runBlocking { client.send(HttpRequest("GET", slow()), handle) }
        }
    }
}
