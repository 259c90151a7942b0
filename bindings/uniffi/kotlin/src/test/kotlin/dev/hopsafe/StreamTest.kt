package dev.hopsafe

import com.google.gson.JsonParser
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.ByteArrayInputStream
import java.io.IOException
import java.io.InputStream

/** A body read from an [InputStream], 16 KiB at a time. */
private class StreamSource(
    private val input: InputStream,
) : BodySource {
    override fun read(): ByteArray? {
        val buf = ByteArray(16 * 1024)
        val n = input.read(buf)
        return if (n < 0) null else buf.copyOf(n)
    }
}

class StreamTest {
    private val a = TestServer.origin("a")

    private fun records(id: String) =
        JsonParser
            .parseString(
                HopsafeClient(ClientConfig())
                    .requestBlocking(HttpRequest("GET", "$a/__scripts/$id/records"))
                    .body
                    .decodeToString(),
            ).asJsonArray
            .map { it.asJsonObject }

    @Test
    fun `a streamed body is replayed on 307 within the replay limit`() {
        val data = ByteArray(200 * 1024) { (it % 251).toByte() }
        val id = TestServer.script("""[{"status":307,"location":"{b}/s/{id}/1"},{"status":200,"apply":true}]""")
        val client = HopsafeClient(ClientConfig(replayLimit = 1uL shl 20))
        val resp =
            runBlocking {
                client.sendStreaming(HttpRequest("POST", "$a/s/$id/0"), StreamSource(ByteArrayInputStream(data)))
            }
        assertEquals(200, resp.status.toInt())
        assertEquals(1, resp.history.size)
        val recs = records(id)
        assertEquals(listOf("a", "b"), recs.map { it.get("origin").asString })
        assertEquals(List(2) { data.size.toLong() }, recs.map { it.get("body_len").asLong })
        assertEquals(1, recs.map { it.get("body_sha256").asString }.toSet().size)
    }

    @Test
    fun `a stream past the replay limit fails with BodyNotReplayable, never a truncated resend`() {
        val id = TestServer.script("""[{"status":308,"location":"{b}/s/{id}/1"},{"status":200}]""")
        val client = HopsafeClient(ClientConfig(replayLimit = 16uL * 1024uL))
        val e =
            assertThrows<BodyNotReplayableException> {
                client.requestStreamingBlocking(
                    HttpRequest("PUT", "$a/s/$id/0"),
                    StreamSource(ByteArrayInputStream(ByteArray(100 * 1024))),
                )
            }
        assertEquals(1, e.history.size)
        assertEquals(1, records(id).size)
    }

    @Test
    fun `an exception in the source aborts the upload as BodyStream`() {
        val id = TestServer.script("""[{"status":200,"apply":true}]""")
        var calls = 0
        val failing =
            object : BodySource {
                override fun read(): ByteArray? {
                    if (++calls > 2) throw IOException("disk went away")
                    return ByteArray(16 * 1024)
                }
            }
        val e =
            assertThrows<BodyStreamException> {
                HopsafeClient(ClientConfig()).requestStreamingBlocking(HttpRequest("POST", "$a/s/$id/0"), failing)
            }
        assertTrue(e.detail.contains("disk went away"), e.detail)
        assertTrue(records(id).none { it.get("applied").asBoolean }, "a cut body was applied")
    }

    @Test
    fun `bytes and a source together are refused`() {
        assertThrows<InvalidConfigException> {
            HopsafeClient(ClientConfig()).requestStreamingBlocking(
                HttpRequest("POST", "$a/echo", body = "x".toByteArray()),
                StreamSource(ByteArrayInputStream(ByteArray(1))),
            )
        }
    }
}
