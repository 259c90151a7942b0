package dev.hopsafe.okhttp

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.hopsafe.ClientConfig
import dev.hopsafe.ConnectException
import dev.hopsafe.HopsafeClient
import dev.hopsafe.IdempotencyKey
import dev.hopsafe.TestServer
import dev.hopsafe.TooManyRedirectsException
import okhttp3.Call
import okhttp3.Callback
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import okio.Buffer
import okio.BufferedSink
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.io.IOException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ExecutionException

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HopsafeCallFactoryTest {
    private val a = TestServer.origin("a")
    private val b = TestServer.origin("b")
    private val client = HopsafeClient(ClientConfig(caPem = TestServer.caPem))
    private val factory = HopsafeCallFactory(client)

    @AfterAll
    fun close() = client.close()

    private fun json(resp: Response): JsonObject = JsonParser.parseString(resp.body.string()).asJsonObject

    private fun post307(body: RequestBody): Request =
        Request
            .Builder()
            .url(TestServer.redirect(a, 307, "$b/echo"))
            .header("Authorization", "Bearer s3cret")
            .post(body)
            .build()

    @Test
    fun `execute follows a cross-origin 307 with method and body, without the credential`() {
        factory.newCall(post307("""{"sku":"A-1"}""".toRequestBody("application/json".toMediaType()))).execute().use { resp ->
            assertEquals(200, resp.code)
            // OkHttp sees the final request and the redirect as its own priorResponse chain.
            assertEquals("$b/echo", resp.request.url.toString())
            assertEquals("POST", resp.request.method)
            assertNull(resp.request.header("Authorization"))
            val prior = resp.priorResponse
            assertNotNull(prior)
            prior!!
            assertEquals(307, prior.code)
            assertNull(prior.priorResponse)
            val exchange = resp.hopsafe
            assertNotNull(exchange)
            exchange!!
            assertEquals(listOf(307), exchange.history.map { it.status.toInt() })
            assertNotNull(exchange.idempotencyKey)
            val echo = json(resp)
            assertEquals("POST", echo.get("method").asString)
            assertEquals("""{"sku":"A-1"}""", echo.get("body").asString)
            assertTrue(echo.getAsJsonObject("headers").get("authorization") == null, echo.toString())
            assertEquals(
                "application/json; charset=utf-8",
                echo
                    .getAsJsonObject("headers")
                    .getAsJsonArray("content-type")
                    .first()
                    .asString,
            )
        }
    }

    @Test
    fun `a one-shot body is streamed through the 307 and replayed`() {
        val bytes = ByteArray(100_000) { 'x'.code.toByte() }
        val oneShot =
            object : RequestBody() {
                override fun contentType() = null

                override fun isOneShot() = true

                override fun writeTo(sink: BufferedSink) {
                    for (at in bytes.indices step 10_000) sink.write(bytes, at, 10_000).flush()
                }
            }
        factory.newCall(post307(oneShot)).execute().use { resp ->
            val echo = json(resp)
            assertEquals("POST", echo.get("method").asString)
            assertEquals(100_000, echo.get("body_len").asInt)
        }
    }

    @Test
    fun `enqueue delivers the response on a callback`() {
        val done = CompletableFuture<String>()
        val call = factory.newCall(Request.Builder().url("$a/echo").build())
        call.enqueue(
            object : Callback {
                override fun onFailure(
                    call: Call,
                    e: IOException,
                ) {
                    done.completeExceptionally(e)
                }

                override fun onResponse(
                    call: Call,
                    response: Response,
                ) {
                    response.use { done.complete(json(it).get("method").asString) }
                }
            },
        )
        assertEquals("GET", done.get())
        assertTrue(call.isExecuted())
        assertThrows<IllegalStateException> { call.execute() }
    }

    @Test
    fun `enqueue reports a hopsafe failure as an IOException with the cause`() {
        val failed = CompletableFuture<IOException>()
        factory.newCall(Request.Builder().url("http://127.0.0.1:1/").build()).enqueue(
            object : Callback {
                override fun onFailure(
                    call: Call,
                    e: IOException,
                ) {
                    failed.complete(e)
                }

                override fun onResponse(
                    call: Call,
                    response: Response,
                ) {
                    failed.completeExceptionally(AssertionError("unexpected ${response.code}"))
                }
            },
        )
        val e = failed.get()
        assertTrue(e is HopsafeIOException, e.toString())
        assertTrue(e.cause is ConnectException, e.cause.toString())
    }

    @Test
    fun `errors are HopsafeIOException with the hopsafe error and its history`() {
        val limited = HopsafeClient(ClientConfig(maxRedirects = 1u))
        limited.use {
            val url = TestServer.redirect(a, 307, TestServer.redirect(a, 307, "$a/echo"))
            val e = assertThrows<HopsafeIOException> { HopsafeCallFactory(it).newCall(Request.Builder().url(url).build()).execute() }
            val cause = e.error
            assertTrue(cause is TooManyRedirectsException, cause.toString())
            assertSame(cause, e.cause)
            assertEquals(2, (cause as TooManyRedirectsException).history.size)
        }
    }

    @Test
    fun `the response body streams from hopsafe`() {
        val id = TestServer.script("""[{"status":200,"body_bytes":300000}]""")
        factory.newCall(Request.Builder().url("$a/s/$id/0").build()).execute().use { resp ->
            // The length is the Content-Length when the server sent one (this server streams it chunked).
            assertTrue(resp.body.contentLength() in listOf(-1L, 300_000L), resp.body.contentLength().toString())
            val source = resp.body.source()
            val first = Buffer()
            assertTrue(source.read(first, 16) > 0)
            assertEquals("000000000000000\n", first.readUtf8())
            var total = 16L
            val rest = Buffer()
            while (true) {
                val n = source.read(rest, 65536)
                if (n < 0) break
                total += n
                rest.clear()
            }
            assertEquals(300_000L, total)
        }
    }

    @Test
    fun `bufferBody applies the client's maxBodySize`() {
        HopsafeClient(ClientConfig(maxBodySize = 1000u)).use { small ->
            val id = TestServer.script("""[{"status":200,"body_bytes":5000}]""")
            val request =
                Request
                    .Builder()
                    .url("$a/s/$id/0")
                    .tag(HopsafeOptions::class.java, HopsafeOptions(bufferBody = true))
                    .build()
            val e = assertThrows<HopsafeIOException> { HopsafeCallFactory(small).newCall(request).execute() }
            assertTrue(e.error is dev.hopsafe.ResponseTooLargeException, e.error.toString())
        }
    }

    @Test
    fun `per-request options come from a tag`() {
        val request =
            Request
                .Builder()
                .url(TestServer.redirect(a, 307, "$b/echo"))
                .post("x".toRequestBody())
                .tag(HopsafeOptions::class.java, HopsafeOptions(idempotencyKey = IdempotencyKey.Use("order-42"), followRedirects = false))
                .build()
        factory.newCall(request).execute().use { resp ->
            assertEquals(307, resp.code)
            assertNull(resp.priorResponse)
            assertTrue(
                resp.hopsafe
                    ?.idempotencyKey
                    .orEmpty()
                    .contains("order-42"),
                resp.hopsafe.toString(),
            )
        }
    }

    @Test
    fun `cancel aborts the call, before it starts and while its body is read`() {
        val early = factory.newCall(Request.Builder().url("$a/echo").build())
        early.cancel()
        assertTrue(early.isCanceled())
        val e = assertThrows<IOException> { early.execute() }
        assertEquals("Canceled", e.message)

        // The server holds the body after 1000 bytes until released: the read can only end by the cancel.
        val id = TestServer.script("""[{"status":200,"body_bytes":100000,"hold_after":1000}]""")
        val call = factory.newCall(Request.Builder().url("$a/s/$id/0").build())
        call.execute().use { resp ->
            val source = resp.body.source()
            assertTrue(source.request(1))
            val reader = CompletableFuture.supplyAsync { runCatching { source.readByteArray() }.exceptionOrNull() }
            call.cancel()
            val failure =
                try {
                    reader.get()
                } catch (x: ExecutionException) {
                    x.cause
                }
            assertTrue(failure is IOException, failure.toString())
        }
    }

    @Test
    fun `call tags and timeout are the call's own`() {
        val call = factory.newCall(Request.Builder().url("$a/echo").build())
        assertNull(call.tag(String::class.java))
        assertEquals("t", call.tag(String::class.java) { "t" })
        assertEquals("t", call.tag(String::class))
        call.timeout().timeout(30, java.util.concurrent.TimeUnit.SECONDS)
        call.execute().use { assertEquals(200, it.code) }
        val copy = call.clone()
        assertTrue(!copy.isExecuted())
        assertSame(call.request(), copy.request())
    }
}
