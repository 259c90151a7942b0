package dev.hopsafe

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class RedirectHookTest {
    private val a = TestServer.origin("a")
    private val b = TestServer.origin("b")

    private fun client(hook: RedirectHook) = HopsafeClient(ClientConfig(caPem = TestServer.caPem), hook)

    @Test
    fun `the hook sees every hop and can stop at another origin`() {
        val seen = mutableListOf<RedirectInfo>()
        val hook =
            redirectHook { info ->
                synchronized(seen) { seen.add(info) }
                if (info.to.startsWith(b)) RedirectDecision.Stop else RedirectDecision.Follow
            }
        client(hook).use { c ->
            val first = TestServer.redirect(a, 302, "$a/echo")
            val resp = runBlocking { c.send(HttpRequest("POST", first, body = "x".toByteArray())) }
            assertEquals(200, resp.status.toInt())
            assertEquals("GET", seen.single().nextMethod, "a 302 answering a POST turns into GET")
            assertEquals(302.toUShort(), seen.single().status)

            val away = TestServer.redirect(a, 307, "$b/echo")
            val stopped = runBlocking { c.send(HttpRequest("POST", away, body = "x".toByteArray())) }
            assertEquals(307, stopped.status.toInt(), "stopped: the 307 comes back")
            assertEquals(2, seen.size)
            assertEquals("POST", seen[1].nextMethod)
        }
    }

    @Test
    fun `rejecting or throwing fails the call with RedirectRejectedException`() {
        val url = TestServer.redirect(a, 307, "$b/echo")
        client(redirectHook { RedirectDecision.Reject("not to b") }).use { c ->
            val e = assertThrows<RedirectRejectedException> { runBlocking { c.send(HttpRequest("GET", url)) } }
            assertTrue(e.message!!.contains("not to b"), e.message)
            assertTrue(e is RedirectException)
        }
        client(redirectHook { throw IllegalStateException("hook broke") }).use { c ->
            assertThrows<RedirectRejectedException> { runBlocking { c.send(HttpRequest("GET", url)) } }
        }
    }

    @Test
    fun `a hook of a blocking call may call hopsafe and fail without failing the call`() {
        // The hook runs on the calling thread, inside its call into Rust: the failure of a call
        // made there must stay its own (each call into Rust has its own status while it runs).
        val caller = Thread.currentThread()
        var inner: Throwable? = null
        val hook =
            redirectHook {
                check(Thread.currentThread() == caller) { "the hook of a blocking call runs on its thread" }
                inner = runCatching { HopsafeClient(ClientConfig(sdkName = "acme-android")) }.exceptionOrNull()
                RedirectDecision.Follow
            }
        client(hook).use { c ->
            repeat(2) {
                val resp = c.requestBlocking(HttpRequest("GET", TestServer.redirect(a, 302, "$a/echo")))
                assertEquals(200, resp.status.toInt())
                assertTrue(inner is InvalidConfigException, "the hook's own call failed: $inner")
                inner = null
            }
        }
    }
}
