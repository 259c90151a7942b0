package dev.hopsafe

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.IOException

/** Bytes `from until from + len` of the test server's numbered lines (`%015d\n` per line). */
internal fun pattern(
    from: Long,
    len: Int,
): ByteArray {
    val out = java.io.ByteArrayOutputStream(len + 16)
    var line = from / 16
    while (out.size() < len + (from % 16)) {
        out.write(line.toString().padStart(15, '0').toByteArray())
        out.write('\n'.code)
        line++
    }
    val all = out.toByteArray()
    val skip = (from % 16).toInt()
    return all.copyOfRange(skip, skip + len)
}

class ResponseStreamTest {
    private val a = TestServer.origin("a")
    private val client = HopsafeClient(ClientConfig())

    /** A script of one step with a generated body; returns its id. */
    private fun body(
        bytes: Long,
        holdAfter: Long? = null,
    ): String = TestServer.script("""[{"status":200,"body_bytes":$bytes${holdAfter?.let { ",\"hold_after\":$it" } ?: ""}}]""")

    private fun release(id: String) {
        val resp = client.requestBlocking(HttpRequest("POST", "$a/__scripts/$id/release", idempotencyKey = IdempotencyKey.Off))
        assertEquals(200, resp.status.toInt())
    }

    @Test
    fun `a large body streams through a Flow, every byte in order`() {
        val size = 32L shl 20
        val id = body(size)
        var seen = 0L
        var chunks = 0
        runBlocking {
            client.stream(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
                assertEquals(200, resp.status.toInt())
                resp.body.asFlow().collect { chunk ->
                    assertArrayEquals(pattern(seen, chunk.size), chunk, "bytes from $seen")
                    seen += chunk.size
                    chunks++
                }
            }
        }
        assertEquals(size, seen)
        assertTrue(chunks > 1, "the body came in one piece")
    }

    @Test
    fun `a large body streams through an InputStream on the calling thread`() {
        val size = 8L shl 20
        val id = body(size)
        val resp = client.openBlocking(HttpRequest("GET", "$a/s/$id/0"))
        resp.use {
            val buf = ByteArray(10_000)
            var seen = 0L
            it.body.inputStream().use { input ->
                while (true) {
                    val n = input.read(buf)
                    if (n < 0) break
                    assertArrayEquals(pattern(seen, n), buf.copyOf(n), "bytes from $seen")
                    seen += n
                }
            }
            assertEquals(size, seen)
            assertNull(it.body.nextBlocking(), "a finished body stays finished")
        }
    }

    @Test
    fun `an SSE-style body hands each event over before the server sends the next`() {
        // The server sends the first line and holds the rest until released: a client that
        // waited for more than it was given would never see the first line.
        val id = body(3 * 16, holdAfter = 16)
        client.openBlocking(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
            val lines = resp.body.inputStream().bufferedReader()
            assertEquals("000000000000000", lines.readLine())
            release(id)
            assertEquals(listOf("000000000000001", "000000000000002"), lines.readLines())
        }
    }

    @Test
    fun `the Flow delivers the held prefix before the release`() {
        val id = body(1 shl 20, holdAfter = 64 * 1024)
        runBlocking {
            client.stream(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
                var seen = 0L
                resp.body.asFlow().collect { chunk ->
                    if (seen < 64 * 1024 && seen + chunk.size >= 64 * 1024) release(id)
                    seen += chunk.size
                }
                assertEquals(1L shl 20, seen)
            }
        }
    }

    @Test
    fun `leaving a Flow early aborts the transfer`() {
        val id = body(1 shl 20, holdAfter = 64 * 1024)
        runBlocking {
            client.stream(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
                val first = resp.body.asFlow().first()
                assertArrayEquals(pattern(0, first.size), first)
                // The rest is held by the server: only an aborted body answers at once.
                assertThrows<CancelledException> { resp.body.nextBlocking() }
            }
        }
    }

    @Test
    fun `closing the InputStream early aborts the transfer`() {
        val id = body(1 shl 20, holdAfter = 64 * 1024)
        client.openBlocking(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
            val input = resp.body.inputStream()
            assertTrue(input.read() == '0'.code)
            input.close()
            assertThrows<IOException> { input.read() }
            assertThrows<CancelledException> { resp.body.nextBlocking() }
        }
    }

    @Test
    fun `closing the InputStream from another thread ends a read the server holds`() {
        val id = body(1 shl 20, holdAfter = 16)
        client.openBlocking(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
            val input = resp.body.inputStream()
            val buf = ByteArray(64)
            assertEquals(16, input.readNBytes(buf, 0, 16))
            val reader =
                java.util.concurrent.CompletableFuture
                    .supplyAsync { runCatching { input.read(buf) } }
            input.close()
            val outcome = reader.get(10, java.util.concurrent.TimeUnit.SECONDS)
            assertTrue(outcome.exceptionOrNull() is IOException, outcome.toString())
            assertThrows<CancelledException> { resp.body.nextBlocking() }
        }
    }

    @Test
    fun `cancelling the collecting coroutine aborts a read the server holds`() {
        val id = body(1 shl 20, holdAfter = 64 * 1024)
        runBlocking {
            val resp = client.stream(HttpRequest("GET", "$a/s/$id/0"))
            val prefixRead = CompletableDeferred<Unit>()
            var seen = 0L
            val job =
                launch {
                    resp.body.asFlow().collect {
                        seen += it.size
                        if (seen >= 64 * 1024) prefixRead.complete(Unit)
                    }
                }
            prefixRead.await()
            // The collector now waits for bytes the server holds until a release that never comes.
            job.cancel()
            job.join()
            assertTrue(job.isCancelled)
            assertEquals(64L * 1024, seen)
            assertThrows<CancelledException> { resp.body.nextBlocking() }
            resp.destroy()
        }
    }

    @Test
    fun `cancel() wakes a blocked blocking reader with Cancelled`() {
        val id = body(1 shl 20, holdAfter = 16)
        client.openBlocking(HttpRequest("GET", "$a/s/$id/0")).use { resp ->
            assertEquals(16, resp.body.nextBlocking()?.size)
            val reader =
                java.util.concurrent.CompletableFuture
                    .supplyAsync { runCatching { resp.body.nextBlocking() } }
            resp.body.cancel()
            val outcome = reader.get()
            assertTrue(outcome.exceptionOrNull() is CancelledException, outcome.toString())
        }
    }

    @Test
    fun `a body cut by the server fails the read, never ends cleanly`() {
        client.openBlocking(HttpRequest("GET", "$a/fault/reset_mid_body")).use { resp ->
            val e = assertThrows<IOException> { resp.body.inputStream().readBytes() }
            assertTrue(e.cause is HopsafeException, e.toString())
        }
    }
}
