// The Kotlin conformance runner (tests/conformance/PROTOCOL.md):
// `Runner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`; each argument is JSON text or a file.
package dev.hopsafe.conformance

import com.google.gson.GsonBuilder
import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.hopsafe.BodySource
import dev.hopsafe.ClientConfig
import dev.hopsafe.Header
import dev.hopsafe.Hop
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HopsafeException
import dev.hopsafe.HttpRequest
import dev.hopsafe.IdempotencyKey
import dev.hopsafe.IdempotencyKeyFormat
import dev.hopsafe.RetryConfig
import dev.hopsafe.UpgradeRequiredException
import dev.hopsafe.context
import dev.hopsafe.use
import java.io.File
import kotlin.system.exitProcess

private fun load(arg: String): JsonElement =
    JsonParser.parseString(if (arg.trimStart().startsWith("{") || arg.trimStart().startsWith("[")) arg else File(arg).readText())

private fun JsonObject.opt(name: String): JsonElement? = get(name)?.takeIf { !it.isJsonNull }

/** Replaces `{label}` templates with origin bases. */
private fun template(
    s: String,
    origins: JsonObject,
): String = origins.entrySet().fold(s) { acc, (label, base) -> acc.replace("{$label}", base.asString) }

/** The test server's client certificate and key (PEM), for scenarios with `client_identity`. */
internal var clientIdentity: Pair<String, String>? = null

/** Builds the client config of a scenario. */
internal fun clientConfig(
    c: JsonObject,
    origins: JsonObject,
    caPem: String,
): ClientConfig {
    val idem = c.opt("idempotency")?.asJsonObject
    val retry =
        c.opt("retry")?.asJsonObject?.let { r ->
            val d = RetryConfig()
            RetryConfig(
                maxAttempts = r.opt("max_attempts")?.asInt?.toUInt() ?: d.maxAttempts,
                baseDelayMs = r.opt("base_delay_ms")?.asLong?.toULong() ?: d.baseDelayMs,
                maxDelayMs = r.opt("max_delay_ms")?.asLong?.toULong() ?: d.maxDelayMs,
                maxRetryAfterMs = r.opt("max_retry_after_ms")?.asLong?.toULong() ?: d.maxRetryAfterMs,
                statuses = r.opt("statuses")?.asJsonArray?.map { it.asInt.toUShort() },
                retryKeyedWrites = r.opt("retry_keyed_writes")?.asBoolean ?: d.retryKeyedWrites,
            )
        }
    val d = ClientConfig()
    return ClientConfig(
        trustedOrigins = c.opt("trusted_origins")?.asJsonArray?.map { template(it.asString, origins) } ?: emptyList(),
        sensitiveHeaders = c.opt("sensitive_headers")?.asJsonArray?.map { it.asString } ?: emptyList(),
        keyHonoringOrigins = c.opt("key_honoring_origins")?.asJsonArray?.map { template(it.asString, origins) } ?: emptyList(),
        allowHttpsDowngrade = c.opt("allow_https_downgrade")?.asBoolean ?: d.allowHttpsDowngrade,
        followRedirects = c.opt("follow_redirects")?.asBoolean ?: d.followRedirects,
        maxRedirects = c.opt("max_redirects")?.asInt?.toUInt() ?: d.maxRedirects,
        idempotencyKeys = idem?.opt("generate")?.asBoolean ?: d.idempotencyKeys,
        idempotencyKeyFormat =
            when (idem?.opt("format")?.asString) {
                "bare" -> IdempotencyKeyFormat.BARE
                "quoted" -> IdempotencyKeyFormat.QUOTED
                else -> null
            },
        retry = retry,
        caPem = caPem,
        readTimeoutMs = c.opt("read_timeout_ms")?.asLong?.toULong(),
        timeoutMs = c.opt("timeout_ms")?.asLong?.toULong(),
        replayLimit = c.opt("replay_limit")?.asLong?.toULong(),
        sdkName = c.opt("sdk_name")?.asString,
        proxy = c.opt("proxy")?.asString?.let { template(it, origins) },
        cookies = c.opt("cookies")?.asBoolean ?: d.cookies,
        maxBodySize = c.opt("max_body_size")?.asLong?.toULong(),
        clientCertPem = clientIdentity?.first?.takeIf { c.opt("client_identity")?.asBoolean == true },
        clientKeyPem = clientIdentity?.second?.takeIf { c.opt("client_identity")?.asBoolean == true },
        sdkVersion = c.opt("sdk_version")?.asString,
    )
}

/** Hands out [bytes] once, in 16 KiB chunks: a one-shot streamed body. */
internal class ChunkedSource(
    private val bytes: ByteArray,
) : BodySource {
    private var at = 0

    @Synchronized
    override fun read(): ByteArray? {
        if (at >= bytes.size) return null
        val end = minOf(at + 16384, bytes.size)
        return bytes.copyOfRange(at, end).also { at = end }
    }
}

/** Builds the request of a scenario (`null` with a reason when it cannot be expressed). */
internal fun request(
    r: JsonObject,
    url: String,
): Pair<HttpRequest?, String?> {
    val body =
        r.opt("body")?.asString?.toByteArray()
            ?: r.opt("body_size")?.asInt?.let { ByteArray(it) { 'x'.code.toByte() } }
    val key =
        r.opt("idempotency_key")?.let { k ->
            if (k.asJsonPrimitive.isBoolean) {
                if (k.asBoolean) IdempotencyKey.Generate else IdempotencyKey.Off
            } else {
                IdempotencyKey.Use(k.asString)
            }
        }
    val headers =
        r
            .opt("headers")
            ?.asJsonObject
            ?.entrySet()
            ?.map { (n, v) -> Header(n, v.asString) } ?: emptyList()
    return HttpRequest(
        method = r.get("method").asString,
        url = url,
        headers = headers,
        body = body,
        idempotencyKey = key,
        followRedirects = r.opt("follow_redirects")?.asBoolean,
        maxRedirects = r.opt("max_redirects")?.asInt?.toUInt(),
        timeoutMs = r.opt("timeout_ms")?.asLong?.toULong(),
    ) to null
}

private fun history(hops: List<Hop>): JsonArray =
    JsonArray().apply {
        for (h in hops) {
            add(
                JsonObject().apply {
                    addProperty("method", h.method)
                    addProperty("url", h.url)
                    addProperty("status", h.status.toInt())
                },
            )
        }
    }

/** The length and FNV-1a 64 of a body read in pieces (the protocol's `body` observation). */
internal class BodySeen {
    var len = 0L
        private set
    private var hash = -0x340d631b7bdddcdbL // 0xcbf29ce484222325

    fun add(bytes: ByteArray) {
        for (b in bytes) {
            hash = (hash xor (b.toLong() and 0xff)) * 0x100000001b3L
        }
        len += bytes.size
    }

    fun json(): JsonObject =
        JsonObject().apply {
            addProperty("len", len)
            addProperty("fnv1a64", "%016x".format(hash))
        }
}

/** Lets the script's held bodies go on (`POST /__scripts/ID/release`). */
private fun release(
    control: HopsafeClient,
    origins: JsonObject,
    scriptId: String,
) {
    // A failed release shows up as a short body, which the checker reports.
    runCatching {
        control.requestBlocking(
            HttpRequest("POST", origins.get("a").asString + "/__scripts/$scriptId/release", idempotencyKey = IdempotencyKey.Off),
        )
    }
}

/** Plays one scenario and returns its observation. */
private fun play(
    s: JsonObject,
    origins: JsonObject,
    caPem: String,
    control: HopsafeClient,
): JsonObject {
    val obs = JsonObject()
    for (k in listOf("error", "status", "final_url", "final_method", "idempotency_key", "skipped")) obs.add(k, JsonNull.INSTANCE)
    obs.addProperty("id", s.get("id").asString)
    obs.add("history", JsonArray())
    val steps = JsonObject().apply { add("steps", s.get("steps")) }
    val created =
        control.requestBlocking(
            HttpRequest(
                "POST",
                origins.get("a").asString + "/__scripts",
                listOf(Header("content-type", "application/json")),
                steps.toString().toByteArray(),
                IdempotencyKey.Off,
            ),
        )
    val scriptId =
        JsonParser
            .parseString(created.body.decodeToString())
            .asJsonObject
            .get("id")
            .asString
    obs.addProperty("script_id", scriptId)
    val req = s.getAsJsonObject("request")
    val url = origins.get(req.get("origin").asString).asString + "/s/$scriptId/0"
    val (request, skipped) = request(req, url)
    if (request == null) {
        obs.addProperty("skipped", skipped)
        return obs
    }
    try {
        HopsafeClient(clientConfig(s.opt("client")?.asJsonObject ?: JsonObject(), origins, caPem)).use { client ->
            val body = request.body
            if (req.opt("read")?.asString == "stream") {
                client.openBlocking(request).use { resp ->
                    obs.addProperty("status", resp.status.toInt())
                    obs.addProperty("final_url", resp.url)
                    obs.addProperty("final_method", resp.method)
                    obs.addProperty("idempotency_key", resp.idempotencyKey)
                    obs.add("history", history(resp.history))
                    val seen = BodySeen()
                    try {
                        while (true) {
                            val chunk = resp.body.nextBlocking() ?: break
                            if (seen.len == 0L) release(control, origins, scriptId)
                            seen.add(chunk)
                        }
                        obs.add("body", seen.json())
                    } catch (e: HopsafeException) {
                        obs.addProperty("error", e::class.simpleName?.removeSuffix("Exception"))
                        obs.addProperty("write_accepted", e.context.writeAccepted)
                    }
                }
                return obs
            }
            val resp =
                if (req.opt("stream")?.asBoolean == true && body != null) {
                    client.requestStreamingBlocking(request.copy(body = null), ChunkedSource(body))
                } else {
                    client.requestBlocking(request)
                }
            obs.addProperty("status", resp.status.toInt())
            obs.addProperty("final_url", resp.url)
            obs.addProperty("final_method", resp.method)
            obs.addProperty("idempotency_key", resp.idempotencyKey)
            obs.add("history", history(resp.history))
            obs.add("body", BodySeen().apply { add(resp.body) }.json())
        }
    } catch (e: HopsafeException) {
        // The protocol reports core names: the class name without its `Exception` suffix.
        obs.addProperty("error", e::class.simpleName?.removeSuffix("Exception"))
        obs.add("history", history(e.context.history))
        obs.addProperty("write_accepted", e.context.writeAccepted)
        if (e is UpgradeRequiredException) {
            obs.add(
                "upgrade",
                JsonObject().apply {
                    addProperty("sdk", e.sdk)
                    addProperty("minimum_version", e.minimumVersion)
                    addProperty("current_version", e.currentVersion)
                },
            )
        }
    }
    return obs
}

/** Entry point: see the file comment. */
fun main(args: Array<String>) {
    if (args.size != 3) {
        System.err.println("usage: Runner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON")
        exitProcess(2)
    }
    val ready = load(args[0]).asJsonObject
    val origins = ready.getAsJsonObject("origins")
    val caPem = ready.get("ca_pem").asString
    clientIdentity = Pair(ready.get("client_cert_pem").asString, ready.get("client_key_pem").asString)
    val scenariosJson = load(args[1])
    val scenarios = if (scenariosJson.isJsonArray) scenariosJson.asJsonArray else scenariosJson.asJsonObject.getAsJsonArray("scenarios")
    val observations = JsonArray()
    HopsafeClient(ClientConfig()).use { control ->
        for (s in scenarios) observations.add(play(s.asJsonObject, origins, caPem, control))
    }
    val out =
        JsonObject().apply {
            addProperty("runtime", "kotlin")
            add("observations", observations)
        }
    File(args[2]).writeText(
        GsonBuilder()
            .serializeNulls()
            .setPrettyPrinting()
            .create()
            .toJson(out),
    )
}
