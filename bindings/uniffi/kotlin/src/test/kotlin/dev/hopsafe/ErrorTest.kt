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
}
