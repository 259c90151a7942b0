package dev.hopsafe.ktor

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.hopsafe.ClientConfig
import dev.hopsafe.ConnectException
import dev.hopsafe.HopsafeClient
import dev.hopsafe.IdempotencyKey
import dev.hopsafe.ResponseTooLargeException
import dev.hopsafe.TestServer
import dev.hopsafe.TooManyRedirectsException
import io.ktor.client.HttpClient
import io.ktor.client.request.get
import io.ktor.client.request.header
import io.ktor.client.request.post
import io.ktor.client.request.prepareGet
import io.ktor.client.request.setBody
import io.ktor.client.statement.bodyAsChannel
import io.ktor.client.statement.bodyAsText
import io.ktor.http.ContentType
import io.ktor.http.content.OutgoingContent
import io.ktor.http.contentType
import io.ktor.utils.io.ByteWriteChannel
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.writeFully
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HopsafeEngineTest {
    private val a = TestServer.origin("a")
    private val b = TestServer.origin("b")
    private val client = HopsafeClient(ClientConfig(caPem = TestServer.caPem))
    private val http =
        HttpClient(Hopsafe) {
            engine { client = this@HopsafeEngineTest.client }
            followRedirects = false
        }

    @AfterAll
    fun close() {
        http.close()
        client.close()
    }

    private fun json(text: String): JsonObject = JsonParser.parseString(text).asJsonObject

    @Test
    fun `a cross-origin 307 keeps method and body and drops the credential`() =
        runBlocking {
            val resp =
                http.post(TestServer.redirect(a, 307, "$b/echo")) {
                    header("Authorization", "Bearer s3cret")
                    contentType(ContentType.Application.Json)
                    setBody("""{"sku":"A-1"}""")
                }
            assertEquals(200, resp.status.value)
            val ex = resp.hopsafe
            assertNotNull(ex)
            assertEquals("$b/echo", ex!!.url)
            assertEquals("POST", ex.method)
            assertEquals(listOf(307), ex.history.map { it.status.toInt() })
            assertNotNull(ex.idempotencyKey)
            val echo = json(resp.bodyAsText())
            assertEquals("POST", echo.get("method").asString)
            assertEquals("""{"sku":"A-1"}""", echo.get("body").asString)
            assertNull(echo.getAsJsonObject("headers").get("authorization"), echo.toString())
        }

    @Test
    fun `a streamed body goes through the 307 and is replayed`() =
        runBlocking {
            val bytes = ByteArray(100_000) { 'x'.code.toByte() }
            val resp =
                http.post(TestServer.redirect(a, 307, "$b/echo")) {
                    setBody(
                        object : OutgoingContent.WriteChannelContent() {
                            override suspend fun writeTo(channel: ByteWriteChannel) {
                                for (at in bytes.indices step 10_000) channel.writeFully(bytes, at, at + 10_000)
                            }
                        },
                    )
                }
            val echo = json(resp.bodyAsText())
            assertEquals("POST", echo.get("method").asString)
            assertEquals(100_000, echo.get("body_len").asInt)
        }

    @Test
    fun `the response body streams from hopsafe`() =
        runBlocking {
            val id = TestServer.script("""[{"status":200,"body_bytes":300000}]""")
            http.prepareGet("$a/s/$id/0").execute { resp ->
                val channel = resp.bodyAsChannel()
                val buf = ByteArray(65536)
                var total = 0L
                while (true) {
                    val n = channel.readAvailable(buf)
                    if (n < 0) break
                    total += n
                }
                assertEquals(300_000L, total)
            }
        }

    @Test
    fun `errors are the hopsafe exceptions with their history`() {
        HttpClient(Hopsafe) {
            engine { clientConfig = ClientConfig(maxRedirects = 1u) }
            followRedirects = false
        }.use { limited ->
            val url = TestServer.redirect(a, 307, TestServer.redirect(a, 307, "$a/echo"))
            val e = assertThrows<TooManyRedirectsException> { runBlocking { limited.get(url) } }
            assertEquals(2, e.history.size)
            assertThrows<ConnectException> { runBlocking { limited.get("http://127.0.0.1:1/") } }
        }
    }

    @Test
    fun `per-request options, and bufferBody applies maxBodySize`() =
        runBlocking<Unit> {
            val resp =
                http.post(TestServer.redirect(a, 307, "$b/echo")) {
                    setBody("x")
                    hopsafe(HopsafeRequestOptions(idempotencyKey = IdempotencyKey.Use("order-42"), followRedirects = false))
                }
            assertEquals(307, resp.status.value)
            assertTrue(
                resp.hopsafe
                    ?.idempotencyKey
                    .orEmpty()
                    .contains("order-42"),
                resp.hopsafe.toString(),
            )

            HttpClient(Hopsafe) { engine { clientConfig = ClientConfig(maxBodySize = 1000u) } }.use { small ->
                val id = TestServer.script("""[{"status":200,"body_bytes":5000}]""")
                assertThrows<ResponseTooLargeException> {
                    runBlocking { small.get("$a/s/$id/0") { hopsafe(HopsafeRequestOptions(bufferBody = true)) } }
                }
            }
        }
}
