package dev.hopsafe

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI

class MetricsTest {
    private val a = TestServer.origin("a")
    private val fast = RetryConfig(baseDelayMs = 1u, maxDelayMs = 5u)

    /** `scheme://host:port`, as the counters name origins. */
    private fun origin(url: String) = URI(url).let { "${it.scheme}://${it.host}:${it.port}" }

    @Test
    fun `a cross-origin 307 counts the pair, the stripped credential and the pair's age`() {
        val client = HopsafeClient(ClientConfig(retry = fast))
        val auth = listOf(Header("Authorization", "Bearer secret"))

        fun chain() = TestServer.script("""[{"status":307,"location":"{b}/s/{id}/1"},{"status":200}]""")

        val first = client.requestBlocking(HttpRequest("GET", "$a/s/${chain()}/0", headers = auth))
        assertEquals(200, first.status.toInt())
        val m = client.metrics()
        val pair = m.redirects.single()
        val b = origin(TestServer.origin("b"))
        // First and last seen are one moment until the pair is seen again.
        assertEquals(RedirectCount(307u, origin(a), b, 1uL, pair.firstSeenMs, pair.firstSeenMs, pair.ageMs), pair)
        assertEquals(listOf(StrippedCount("authorization", "cross-origin", 1u)), m.headersStripped)
        assertEquals(emptyList<RetryCount>(), m.retries)
        assertEquals(0uL, m.writesDeliveredTwice)

        Thread.sleep(20)
        client.requestBlocking(HttpRequest("GET", "$a/s/${chain()}/0", headers = auth))
        val again = client.metrics().redirects.single()
        assertEquals(2uL, again.count)
        assertEquals(pair.firstSeenMs, again.firstSeenMs)
        assertTrue(again.lastSeenMs >= pair.lastSeenMs + 20u && again.ageMs >= 20u, "$again")
    }

    @Test
    fun `retries are counted by reason and a keyed write re-sent after a reset is deduplicated`() {
        val client = HopsafeClient(ClientConfig(retry = fast))
        val busy = TestServer.script("""[{"status":200,"faults":["status_503"]}]""")
        assertEquals(200, client.requestBlocking(HttpRequest("GET", "$a/s/$busy/0")).status.toInt())
        val reset = TestServer.script("""[{"status":200,"apply":true,"faults":["reset_after_read"]}]""")
        val resp =
            client.requestBlocking(
                HttpRequest("POST", "$a/s/$reset/0", body = "pay".toByteArray(), idempotencyKey = IdempotencyKey.Use("order-7")),
            )
        assertEquals(2u, resp.attempts)
        val m = client.metrics()
        assertEquals(listOf(RetryCount("after_send", 1u), RetryCount("status_503", 1u)), m.retries)
        assertEquals(1uL, m.writesResentWithKey)
        assertEquals(0uL, m.writesDeliveredTwice)
    }
}
