package dev.hopsafe

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedirectTest {
    private val client = HopsafeClient(ClientConfig(caPem = TestServer.caPem))
    private val a = TestServer.origin("a")
    private val b = TestServer.origin("b")

    @AfterAll
    fun close() = client.close()

    private fun send(
        method: String,
        url: String,
        body: String? = null,
        headers: List<Header> = emptyList(),
    ) = runBlocking { client.send(HttpRequest(method, url, headers, body?.toByteArray())) }

    @Test
    fun `307 and 308 keep method and body across origins`() {
        for (status in listOf(307, 308)) {
            val resp = send("POST", TestServer.redirect(a, status, "$b/echo"), body = "order=1")
            assertEquals(200, resp.status.toInt())
            assertEquals("POST", resp.method)
            assertEquals("$b/echo", resp.url)
            val echo = Echo(resp)
            assertEquals("POST", echo.method)
            assertEquals("order=1", echo.body)
            assertEquals(listOf(status.toUShort()), resp.history.map { it.status })
        }
    }

    @Test
    fun `303 turns a POST into a GET without body`() {
        val resp = send("POST", TestServer.redirect(a, 303, "$a/echo"), body = "order=1")
        val echo = Echo(resp)
        assertEquals("GET", echo.method)
        assertEquals(0L, echo.bodyLen)
        assertTrue(
            resp.history
                .single()
                .dropped
                .any { it.reason == DropReason.METHOD_CHANGED },
        )
    }

    @Test
    fun `credentials are stripped cross-origin and stay stripped on the way back`() {
        val auth = listOf(Header("Authorization", "Bearer secret"))
        val cross = send("POST", TestServer.redirect(a, 307, "$b/echo"), "x", auth)
        assertEquals(emptyList<String>(), Echo(cross).header("authorization"))
        assertEquals(
            DroppedHeader("authorization", DropReason.CROSS_ORIGIN),
            cross.history
                .single()
                .dropped
                .single { it.name == "authorization" },
        )

        val back = send("POST", TestServer.redirect(a, 307, TestServer.redirect(b, 307, "$a/echo")), "x", auth)
        assertEquals("$a/echo", back.url)
        assertEquals(2, back.history.size)
        assertEquals(emptyList<String>(), Echo(back).header("authorization"))
    }

    @Test
    fun `same-origin redirects keep credentials`() {
        val auth = listOf(Header("Authorization", "Bearer secret"))
        val resp = send("POST", TestServer.redirect(a, 307, "$a/echo"), "x", auth)
        assertEquals(listOf("Bearer secret"), Echo(resp).header("authorization"))
    }

    @Test
    fun `the idempotency key is the same on every 307 hop`() {
        val resp = send("POST", TestServer.redirect(a, 307, "$b/echo"), "x")
        val key = checkNotNull(resp.idempotencyKey) { "a POST gets a key" }
        assertEquals(key, resp.history.single().idempotencyKey)
        assertEquals(listOf("\"$key\""), Echo(resp).header("idempotency-key"))
    }

    @Test
    fun `the blocking variant follows redirects too`() {
        val resp = client.requestBlocking(HttpRequest("PUT", TestServer.redirect(a, 308, "$a/echo"), body = "v".toByteArray()))
        assertEquals("PUT", Echo(resp).method)
        assertEquals(1, resp.history.size)
    }

    @Test
    fun `the failover example survives a 307`() {
        val resp = dev.hopsafe.examples.placeOrder(client, TestServer.redirect(a, 307, "$b/echo"))
        assertEquals(200, resp.status.toInt())
        assertEquals("POST", Echo(resp).method)
    }
}
