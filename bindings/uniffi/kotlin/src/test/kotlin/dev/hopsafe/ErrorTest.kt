package dev.hopsafe

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class ErrorTest {
    private val a = TestServer.origin("a")
    private val client = HopsafeClient(ClientConfig(caPem = TestServer.caPem, maxRedirects = 2u))

    private fun send(req: HttpRequest) = runBlocking { client.send(req) }

    @Test
    fun `https to http is an InsecureRedirect with the hop`() {
        val tls = TestServer.origin("tls")
        val e =
            assertThrows<HopsafeException.InsecureRedirect> {
                send(HttpRequest("POST", TestServer.redirect(tls, 307, "$a/echo"), body = "x".toByteArray()))
            }
        assertEquals(listOf(307.toUShort()), e.history.map { it.status })
        assertEquals("$a/echo", e.url)
    }

    @Test
    fun `too many redirects carries the history`() {
        val url = TestServer.redirect(a, 307, TestServer.redirect(a, 307, TestServer.redirect(a, 307, "$a/echo")))
        val e = assertThrows<HopsafeException.TooManyRedirects> { send(HttpRequest("GET", url)) }
        // The two hops followed plus the third redirect that was refused.
        assertEquals(3, e.history.size)
        assertTrue(e.detail.contains("more than 2 redirects"), e.detail)
    }

    @Test
    fun `bad arguments fail with the core's error classes`() {
        assertThrows<HopsafeException.InvalidUrl> { send(HttpRequest("GET", "not a url")) }
        assertThrows<HopsafeException.UnsupportedScheme> { send(HttpRequest("GET", "ftp://example.com/")) }
        assertThrows<HopsafeException.InvalidMethod> { send(HttpRequest("GE T", "$a/echo")) }
        assertThrows<HopsafeException.InvalidHeader> {
            send(HttpRequest("GET", "$a/echo", listOf(Header("x-evil", "a\r\nInjected: 1"))))
        }
        assertThrows<HopsafeException.InvalidHeader> {
            client.requestBlocking(HttpRequest("GET", "$a/echo", listOf(Header("bad name", "v"))))
        }
        assertThrows<HopsafeException.InvalidConfig> {
            HopsafeClient(ClientConfig(trustedOrigins = listOf("ftp://nope")))
        }
        assertThrows<HopsafeException.InvalidConfig> {
            HopsafeClient(ClientConfig(retry = RetryConfig(maxAttempts = 0u)))
        }
    }

    @Test
    fun `a refused connection is Connect`() {
        assertThrows<HopsafeException.Connect> { send(HttpRequest("GET", "http://127.0.0.1:1/")) }
    }

    @Test
    fun `a write accepted by a 303 says so on the error`() {
        val seeOther = TestServer.redirect(a, 303, "ftp://127.0.0.1/gone")
        val e = assertThrows<HopsafeException.UnsupportedScheme> { send(HttpRequest("POST", seeOther, body = "x".toByteArray())) }
        assertTrue(e.writeAccepted)
        assertEquals(1, e.history.size)
        val temporary = TestServer.redirect(a, 307, "ftp://127.0.0.1/gone")
        val replayed = assertThrows<HopsafeException> { send(HttpRequest("POST", temporary, body = "x".toByteArray())) }
        assertEquals(false, replayed.writeAccepted)
        assertEquals(1, replayed.context.history.size)
    }

    @Test
    fun `a timeout says which deadline passed`() {
        val id = TestServer.script("""[{"status":200,"faults":["delay_ms:3000"]}]""")
        val slow = HopsafeClient(ClientConfig(readTimeoutMs = 100u, retry = RetryConfig(maxAttempts = 1u)))
        val e = assertThrows<HopsafeException.Timeout> { runBlocking { slow.send(HttpRequest("GET", "$a/s/$id/0")) } }
        assertEquals(TimeoutPhase.READ, e.phase)
        assertEquals(100uL, e.afterMs)
    }

    @Test
    fun `sdk name and version come together, key-honoring origins are validated`() {
        assertThrows<HopsafeException.InvalidConfig> { HopsafeClient(ClientConfig(sdkName = "acme-android")) }
        assertThrows<HopsafeException.InvalidConfig> { HopsafeClient(ClientConfig(keyHonoringOrigins = listOf("ftp://files.example.com"))) }
        val pinned = ClientConfig(sdkName = "acme-android", sdkVersion = "2.4.0", keyHonoringOrigins = listOf("https://*.example.com"))
        HopsafeClient(pinned).close()
    }
}
