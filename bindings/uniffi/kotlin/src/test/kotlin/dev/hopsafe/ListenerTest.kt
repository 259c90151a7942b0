package dev.hopsafe

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class ListenerTest {
    private val a = TestServer.origin("a")
    private val b = TestServer.origin("b")

    /** A listener that keeps what it is told. */
    private class Recorder : HopsafeListener {
        val events = mutableListOf<HopsafeEvent>()

        override fun onEvent(event: HopsafeEvent) {
            synchronized(events) { events.add(event) }
        }

        fun seen(): List<HopsafeEvent> = synchronized(events) { events.toList() }
    }

    @Test
    fun `the listener sees the request and each hop with what was dropped, never the credential`() {
        val recorder = Recorder()
        HopsafeClient(ClientConfig(), listener = recorder).use { c ->
            val id = TestServer.script("""[{"status":307,"location":"{b}/s/{id}/1"},{"status":200}]""")
            val req =
                HttpRequest(
                    "POST",
                    "$a/s/$id/0?token=q-secret",
                    headers = listOf(Header("Authorization", "Bearer s3cret-token")),
                    body = "pay 10".toByteArray(),
                )
            val resp = runBlocking { c.send(req) }
            assertEquals(200, resp.status.toInt())
        }
        val events = recorder.seen()
        assertEquals(HopsafeEvent.Request("POST", a), events[0])
        val hop = events[1] as HopsafeEvent.Hop
        assertEquals(307.toUShort(), hop.status)
        assertEquals(a, hop.origin)
        assertEquals(b, hop.to)
        assertEquals("POST", hop.method)
        assertEquals("POST", hop.nextMethod)
        assertEquals(listOf(DroppedHeader("authorization", DropReason.CROSS_ORIGIN)), hop.dropped)
        assertEquals(2, events.size)
        val text = events.toString()
        assertFalse(text.contains("s3cret") || text.contains("q-secret") || text.contains("/s/"), text)
    }

    @Test
    fun `a retry is reported with its reason, and only to the listener of the client that made it`() {
        val recorder = Recorder()
        val other = Recorder()
        val retry = RetryConfig(baseDelayMs = 10u, maxDelayMs = 50u)
        val traced = HopsafeClient(ClientConfig(keyHonoringOrigins = listOf(a), retry = retry), listener = recorder)
        val quiet = HopsafeClient(ClientConfig(retry = retry), listener = other)
        val id = TestServer.script("""[{"status":200,"apply":true,"faults":["status_503"]}]""")
        val resp = traced.requestBlocking(HttpRequest("PUT", "$a/s/$id/0", body = "x".toByteArray()))
        assertEquals(200, resp.status.toInt())
        assertEquals(2u, resp.attempts)
        quiet.requestBlocking(HttpRequest("GET", "$a/echo"))

        val retried = recorder.seen().filterIsInstance<HopsafeEvent.Retry>().single()
        assertEquals("PUT", retried.method)
        assertEquals(a, retried.origin)
        assertEquals(1u, retried.attempt)
        assertEquals(503.toUShort(), retried.status)
        assertTrue(retried.reason.contains("503"), retried.reason)
        assertEquals(listOf(HopsafeEvent.Request("PUT", a), retried), recorder.seen())
        assertEquals(listOf(HopsafeEvent.Request("GET", a)), other.seen())
        traced.close()
        quiet.close()
    }

    @Test
    fun `a listener that throws does not fail the request`() {
        val listener = hopsafeListener { throw IllegalStateException("listener broke") }
        HopsafeClient(ClientConfig(), listener = listener).use { c ->
            assertEquals(200, c.requestBlocking(HttpRequest("GET", "$a/echo")).status.toInt())
        }
    }
}
