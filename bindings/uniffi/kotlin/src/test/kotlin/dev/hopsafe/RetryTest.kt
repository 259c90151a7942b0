package dev.hopsafe

import com.google.gson.JsonParser
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class RetryTest {
    private val a = TestServer.origin("a")
    private val client = HopsafeClient(ClientConfig(retry = RetryConfig(baseDelayMs = 10u, maxDelayMs = 50u)))

    private fun get(url: String) = client.requestBlocking(HttpRequest("GET", url, idempotencyKey = IdempotencyKey.Off))

    @Test
    fun `a 503 at a key-honouring standby after a 307 is retried with the same key and applied once`() {
        val id =
            TestServer.script(
                """[{"status":307,"location":"{b}/s/{id}/1"},{"status":200,"apply":true,"faults":["status_503"]}]""",
            )
        val declared =
            HopsafeClient(
                ClientConfig(
                    keyHonoringOrigins = listOf(TestServer.origin("b")),
                    retry = RetryConfig(baseDelayMs = 10u, maxDelayMs = 50u),
                ),
            )
        val resp =
            runBlocking {
                declared.request(HttpRequest("POST", "$a/s/$id/0", body = "pay 10".toByteArray()))
            }
        assertEquals(200, resp.status.toInt())
        assertEquals(2u, resp.attempts)
        val key = checkNotNull(resp.idempotencyKey)

        val records = JsonParser.parseString(get("$a/__scripts/$id/records").body.decodeToString()).asJsonArray
        assertEquals(listOf(0, 1, 1), records.map { it.asJsonObject.get("step").asInt })
        // The server records the raw header: a quoted Structured Field string.
        assertEquals(List(3) { "\"$key\"" }, records.map { it.asJsonObject.get("idempotency_key").asString })
        val writes = JsonParser.parseString(get("$a/__scripts/$id/writes").body.decodeToString()).asJsonObject
        assertEquals(1, writes.get("applications").asInt)
    }

    @Test
    fun `a 503 on a write with only a generated key is returned, not resent`() {
        val id = TestServer.script("""[{"status":200,"apply":true,"faults":["status_503"]}]""")
        val resp = client.requestBlocking(HttpRequest("POST", "$a/s/$id/0", body = "pay 10".toByteArray()))
        assertEquals(503, resp.status.toInt())
        assertEquals(1u, resp.attempts)
    }

    @Test
    fun `a caller's key is sent bare when asked`() {
        val bare = HopsafeClient(ClientConfig(idempotencyKeyFormat = IdempotencyKeyFormat.BARE))
        val resp =
            bare.requestBlocking(
                HttpRequest("PUT", "$a/echo", body = "x".toByteArray(), idempotencyKey = IdempotencyKey.Use("order-42")),
            )
        assertEquals("order-42", resp.idempotencyKey)
        assertEquals(listOf("order-42"), Echo(resp).header("idempotency-key"))
    }
}
