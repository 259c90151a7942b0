package dev.hopsafe

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.net.URLEncoder

/** The hopsafe test server started by `cargo xtask test` (ready line in `HOPSAFE_SERVER_READY`). */
object TestServer {
    private val ready: JsonObject by lazy {
        val line =
            System.getenv("HOPSAFE_SERVER_READY")
                ?: error("HOPSAFE_SERVER_READY is not set: run these tests with `cargo xtask test --only kotlin`")
        JsonParser.parseString(line).asJsonObject
    }

    /** The base URL of an origin label (`a`, `b`, `tls`, ...). */
    fun origin(label: String): String = ready.getAsJsonObject("origins").get(label).asString

    /** The CA that signed the server's certificates. */
    val caPem: String get() = ready.get("ca_pem").asString

    /** `{origin}/redirect/{status}?to={target}`. */
    fun redirect(
        origin: String,
        status: Int,
        to: String,
    ): String = "$origin/redirect/$status?to=" + URLEncoder.encode(to, Charsets.UTF_8)

    /** A script served at `/s/{id}/{n}`; returns its id. */
    fun script(stepsJson: String): String {
        val resp =
            HopsafeClient(ClientConfig()).use { c ->
                c.requestBlocking(
                    HttpRequest(
                        method = "POST",
                        url = origin("a") + "/__scripts",
                        headers = listOf(Header("content-type", "application/json")),
                        body = """{"steps":$stepsJson}""".toByteArray(),
                        idempotencyKey = IdempotencyKey.Off,
                    ),
                )
            }
        check(resp.status.toInt() in 200..299) { "script not accepted: ${resp.status} ${resp.body.decodeToString()}" }
        return JsonParser
            .parseString(resp.body.decodeToString())
            .asJsonObject
            .get("id")
            .asString
    }
}

/** What `/echo` saw. */
class Echo(
    resp: HttpResponse,
) {
    private val json = JsonParser.parseString(resp.body.decodeToString()).asJsonObject

    /** The method received. */
    val method: String = json.get("method").asString

    /** The body received (small bodies only). */
    val body: String? = json.get("body").takeIf { !it.isJsonNull }?.asString

    /** Body bytes received. */
    val bodyLen: Long = json.get("body_len").asLong

    /** The values of one received header (lower-case name). */
    fun header(name: String): List<String> = json.getAsJsonObject("headers").getAsJsonArray(name)?.map { it.asString } ?: emptyList()
}
