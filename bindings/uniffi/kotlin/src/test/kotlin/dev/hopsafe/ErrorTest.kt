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
            assertThrows<InsecureRedirectException> {
                send(HttpRequest("POST", TestServer.redirect(tls, 307, "$a/echo"), body = "x".toByteArray()))
            }
        assertEquals(listOf(307.toUShort()), e.history.map { it.status })
        assertEquals("$a/echo", e.url)
    }

    @Test
    fun `too many redirects carries the history`() {
        val url = TestServer.redirect(a, 307, TestServer.redirect(a, 307, TestServer.redirect(a, 307, "$a/echo")))
        val e = assertThrows<TooManyRedirectsException> { send(HttpRequest("GET", url)) }
        // The two hops followed plus the third redirect that was refused.
        assertEquals(3, e.history.size)
        assertTrue(e.detail.contains("more than 2 redirects"), e.detail)
    }

    @Test
    fun `bad arguments fail with the core's error classes`() {
        assertThrows<InvalidUrlException> { send(HttpRequest("GET", "not a url")) }
        assertThrows<UnsupportedSchemeException> { send(HttpRequest("GET", "ftp://example.com/")) }
        assertThrows<InvalidMethodException> { send(HttpRequest("GE T", "$a/echo")) }
        assertThrows<InvalidHeaderException> {
            send(HttpRequest("GET", "$a/echo", listOf(Header("x-evil", "a\r\nInjected: 1"))))
        }
        assertThrows<InvalidHeaderException> {
            client.requestBlocking(HttpRequest("GET", "$a/echo", listOf(Header("bad name", "v"))))
        }
        assertThrows<InvalidConfigException> {
            HopsafeClient(ClientConfig(trustedOrigins = listOf("ftp://nope")))
        }
        assertThrows<InvalidConfigException> {
            HopsafeClient(ClientConfig(retry = RetryConfig(maxAttempts = 0u)))
        }
    }

    @Test
    fun `a refused connection is Connect`() {
        assertThrows<ConnectException> { send(HttpRequest("GET", "http://127.0.0.1:1/")) }
    }

    @Test
    fun `errors are grouped as the core groups them`() {
        val refused = assertThrows<HopsafeException> { send(HttpRequest("GET", "http://127.0.0.1:1/")) }
        assertTrue(refused is NetworkException && refused is ConnectException, refused::class.qualifiedName)
        assertEquals("ConnectException", refused::class.simpleName)
        val bad = assertThrows<InvalidInputException> { send(HttpRequest("GET", "not a url")) }
        assertTrue(bad is InvalidUrlException)
        val url = TestServer.redirect(a, 307, TestServer.redirect(a, 307, TestServer.redirect(a, 307, "$a/echo")))
        val tooMany: HopsafeException = assertThrows<RedirectException> { send(HttpRequest("GET", url)) }
        assertTrue(tooMany is TooManyRedirectsException)
        val group =
            when (tooMany) {
                is InvalidInputException -> "input"
                is NetworkException -> "network"
                is RedirectException -> "redirect"
                is BodyException -> "body"
                is UpgradeRequiredException -> "upgrade"
                is CancelledException -> "cancelled"
            }
        assertEquals("redirect", group)
    }

    @Test
    fun `a write accepted by a 303 says so on the error`() {
        val seeOther = TestServer.redirect(a, 303, "ftp://127.0.0.1/gone")
        val e = assertThrows<UnsupportedSchemeException> { send(HttpRequest("POST", seeOther, body = "x".toByteArray())) }
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
        val e = assertThrows<TimeoutException> { runBlocking { slow.send(HttpRequest("GET", "$a/s/$id/0")) } }
        assertEquals(TimeoutPhase.READ, e.phase)
        assertEquals(100uL, e.afterMs)
    }

    @Test
    fun `sdk name and version come together, key-honoring origins are validated`() {
        assertThrows<InvalidConfigException> { HopsafeClient(ClientConfig(sdkName = "acme-android")) }
        assertThrows<InvalidConfigException> { HopsafeClient(ClientConfig(keyHonoringOrigins = listOf("ftp://files.example.com"))) }
        val pinned = ClientConfig(sdkName = "acme-android", sdkVersion = "2.4.0", keyHonoringOrigins = listOf("https://*.example.com"))
        HopsafeClient(pinned).close()
    }
}
