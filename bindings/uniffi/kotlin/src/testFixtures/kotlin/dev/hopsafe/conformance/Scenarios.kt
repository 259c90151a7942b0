// What every Kotlin conformance runner shares (tests/conformance/PROTOCOL.md): the scenario's
// client config and request, the script, the observation; a runner only sends ([Send]).
// Used by the native runner (Runner.kt) and the adapter runners (hopsafe-okhttp, ...).
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

internal fun JsonObject.opt(name: String): JsonElement? = get(name)?.takeIf { !it.isJsonNull }

/** Replaces `{label}` templates with origin bases. */
internal fun template(
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

/** One scenario being played: what to send, and the observation being recorded. */
class Play internal constructor(
    /** The scenario's `request` object. */
    val spec: JsonObject,
    /** The scenario's `client` object. */
    val clientSpec: JsonObject,
    /** The request as hopsafe's own API takes it (URL, headers, body, key, overrides). */
    val request: HttpRequest,
    /** The observation (protocol shape). */
    val obs: JsonObject,
    /** The test server's origins (`{label: base}`). */
    val origins: JsonObject,
    /** The test server's CA (PEM). */
    val caPem: String,
    private val releaseHeld: () -> Unit,
) {
    /** The hopsafe client config the scenario asks for. */
    val config: ClientConfig by lazy { clientConfig(clientSpec, origins, caPem) }

    /** The body is sent as a one-shot stream (`request.stream`). */
    val streamBody: Boolean get() = spec.opt("stream")?.asBoolean == true

    /** The response body is read as a stream (`request.read` = `stream`). */
    val readStream: Boolean get() = spec.opt("read")?.asString == "stream"

    /** Records the final response's head. */
    fun head(
        status: Int,
        url: String,
        method: String,
        key: String?,
        hops: JsonArray,
    ) {
        obs.addProperty("status", status)
        obs.addProperty("final_url", url)
        obs.addProperty("final_method", method)
        obs.addProperty("idempotency_key", key)
        obs.add("history", hops)
    }

    /** Records a body read whole. */
    fun body(bytes: ByteArray) = obs.add("body", BodySeen().apply { add(bytes) }.json())

    /**
     * Reads a streamed body chunk by chunk with [next] (`null` at the end), releasing the
     * script's held body after the first chunk; a [HopsafeException] while reading is recorded.
     */
    fun readChunks(next: () -> ByteArray?) {
        val seen = BodySeen()
        try {
            while (true) {
                val chunk = next() ?: break
                if (seen.len == 0L) releaseHeld()
                seen.add(chunk)
            }
            obs.add("body", seen.json())
        } catch (e: HopsafeException) {
            obs.addProperty("error", e::class.simpleName?.removeSuffix("Exception"))
            obs.addProperty("write_accepted", e.context.writeAccepted)
        }
    }

    /** Records that the runner cannot express this scenario, and why. */
    fun skip(reason: String) = obs.addProperty("skipped", reason)
}

/** A redirect hop in the protocol's shape. */
fun hopJson(
    method: String,
    url: String,
    status: Int,
): JsonObject =
    JsonObject().apply {
        addProperty("method", method)
        addProperty("url", url)
        addProperty("status", status)
    }

/** hopsafe's hops in the protocol's shape. */
fun history(hops: List<Hop>): JsonArray = JsonArray().apply { for (h in hops) add(hopJson(h.method, h.url, h.status.toInt())) }

/**
 * Sends [Play.request] and records the answer with [Play.head], [Play.body] or
 * [Play.readChunks]; a [HopsafeException] thrown out of it is recorded as the error.
 */
typealias Send = (Play) -> Unit

/** Plays one scenario with [send] and returns its observation. */
private fun play(
    s: JsonObject,
    origins: JsonObject,
    caPem: String,
    control: HopsafeClient,
    send: Send,
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
    val clientSpec = s.opt("client")?.asJsonObject ?: JsonObject()
    try {
        send(Play(req, clientSpec, request, obs, origins, caPem) { release(control, origins, scriptId) })
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

/**
 * A runner's `main`: `SERVER_READY_JSON SCENARIOS_JSON OUT_JSON` (JSON text or files); plays
 * every scenario with [send] and writes the observations as column [runtime].
 */
fun runScenarios(
    args: Array<String>,
    runtime: String,
    send: Send,
) {
    if (args.size != 3) {
        System.err.println("usage: $runtime-runner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON")
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
        for (s in scenarios) observations.add(play(s.asJsonObject, origins, caPem, control, send))
    }
    val out =
        JsonObject().apply {
            addProperty("runtime", runtime)
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
