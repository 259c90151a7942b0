package dev.hopsafe

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.security.MessageDigest
import java.util.concurrent.Callable
import java.util.concurrent.Executors

/** `requestBlocking` and `openBlocking` go through `DirectCalls` (the direct calls of `direct.rs`). */
class DirectTest {
    private val a = TestServer.origin("a")
    private val client = HopsafeClient(ClientConfig(maxRedirects = 1u))

    @Test
    fun `a large body comes back byte for byte`() {
        val size = 12 shl 20
        val id = TestServer.script("""[{"status":200,"body_bytes":$size}]""")
        val resp = client.requestBlocking(HttpRequest("GET", "$a/s/$id/0"))
        assertEquals(200, resp.status.toInt())
        assertArrayEquals(pattern(0, size), resp.body)
    }

    @Test
    fun `a large upload and a 307 keep method and body`() {
        val body = ByteArray(3 shl 20) { (it % 251).toByte() }
        val resp = client.requestBlocking(HttpRequest("PUT", TestServer.redirect(a, 307, "$a/echo"), body = body))
        val echo = resp.body.decodeToString()
        val sha256 = MessageDigest.getInstance("SHA-256").digest(body).joinToString("") { "%02x".format(it) }
        assertTrue("\"method\":\"PUT\"" in echo && "\"body_sha256\":\"$sha256\"" in echo, echo)
        assertEquals(listOf(307.toUShort()), resp.history.map { it.status })
        assertEquals("$a/echo", resp.url)
    }

    @Test
    fun `failures are the typed exceptions with their fields`() {
        assertThrows<InvalidUrlException> { client.requestBlocking(HttpRequest("GET", "not a url")) }
        assertThrows<ConnectException> { client.requestBlocking(HttpRequest("GET", "http://127.0.0.1:1/")) }
        val twice = TestServer.redirect(a, 302, TestServer.redirect(a, 302, "$a/echo"))
        val e = assertThrows<TooManyRedirectsException> { client.requestBlocking(HttpRequest("GET", twice)) }
        assertEquals(2, e.history.size)
        assertThrows<CancelledException> {
            client.requestBlocking(HttpRequest("GET", "$a/echo"), CancelHandle().also { it.cancel() })
        }
    }

    @Test
    fun `openBlocking hands over a small body and streams a large one`() {
        client.openBlocking(HttpRequest("GET", "$a/echo"), handOver = true).use { resp ->
            assertEquals(200, resp.status.toInt())
            assertTrue(resp.ended)
            assertTrue("\"path\":\"/echo\"" in resp.first!!.decodeToString())
        }
        val size = 5 shl 20
        val id = TestServer.script("""[{"status":200,"body_bytes":$size}]""")
        client.openBlocking(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
            assertArrayEquals(pattern(0, size), resp.body.inputStream().readBytes())
        }
        assertThrows<InvalidMethodException> { client.openBlocking(HttpRequest("GE T", "$a/echo")) }
    }

    @Test
    fun `threads failing and succeeding at once each get their own answer`() {
        val pool = Executors.newFixedThreadPool(8)
        val tasks =
            List(8) { t ->
                Callable {
                    repeat(50) { i ->
                        if ((i + t) % 2 == 0) {
                            assertEquals("GET", client.requestBlocking(HttpRequest("GET", "$a/echo")).method)
                        } else {
                            assertThrows<InvalidMethodException> { client.requestBlocking(HttpRequest("GE T", "$a/echo")) }
                        }
                    }
                }
            }
        try {
            pool.invokeAll(tasks).forEach { it.get() }
        } finally {
            pool.shutdown()
        }
    }
}
