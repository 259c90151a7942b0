package dev.hopsafe.ktor

import dev.hopsafe.ClientConfig
import dev.hopsafe.Hop
import dev.hopsafe.HopsafeClient
import dev.hopsafe.IdempotencyKey
import io.ktor.client.engine.HttpClientEngine
import io.ktor.client.engine.HttpClientEngineConfig
import io.ktor.client.engine.HttpClientEngineFactory
import io.ktor.client.request.HttpRequestBuilder
import io.ktor.client.statement.HttpResponse
import io.ktor.util.AttributeKey

/**
 * The hopsafe engine for Ktor's client: `HttpClient(Hopsafe) { followRedirects = false }`.
 * hopsafe follows the redirects (307/308 keep method and body, credentials are stripped
 * cross-origin, one `Idempotency-Key` across hops and retries); turn Ktor's own redirect
 * following off, or it follows a 3xx that hopsafe was told not to.
 */
data object Hopsafe : HttpClientEngineFactory<HopsafeEngineConfig> {
    override fun create(block: HopsafeEngineConfig.() -> Unit): HttpClientEngine = HopsafeEngine(HopsafeEngineConfig().apply(block))
}

/** The engine's settings: `HttpClient(Hopsafe) { engine { client = myClient } }`. */
class HopsafeEngineConfig : HttpClientEngineConfig() {
    /**
     * The hopsafe client to send through (its owner closes it). When `null`, the engine makes
     * one from [clientConfig] and closes it with the engine.
     */
    var client: HopsafeClient? = null

    /** The config of the client the engine makes when [client] is `null`. */
    var clientConfig: ClientConfig = ClientConfig()
}

/**
 * Per-request hopsafe options: `client.post(url) { hopsafe(HopsafeRequestOptions(...)) }`.
 * `null` fields keep the client's setting.
 */
data class HopsafeRequestOptions(
    /** `Generate`, `Off` or `Use(key)`; `null` = the client's default. */
    val idempotencyKey: IdempotencyKey? = null,
    /** Follow redirects for this request (`false`: the 3xx is the response). */
    val followRedirects: Boolean? = null,
    /** At most this many redirects for this request. */
    val maxRedirects: Int? = null,
    /**
     * Read the whole body inside hopsafe before the response is returned, so the client's
     * `maxBodySize` applies. By default the body streams from hopsafe as it is read.
     */
    val bufferBody: Boolean = false,
)

/** What hopsafe did for a response: `response.hopsafe`. */
data class HopsafeExchange(
    /** The final URL (Ktor's `response.request.url` stays the URL asked for). */
    val url: String,
    /** The final method (a 303 turns a write into `GET`). */
    val method: String,
    /** The redirects followed, oldest first, with what was dropped on each hop. */
    val history: List<Hop>,
    /** The `Idempotency-Key` sent (the same on every hop and retry), if any. */
    val idempotencyKey: String?,
    /** Attempts made for the final hop (1 = no retry). */
    val attempts: Int,
)

internal val OptionsKey = AttributeKey<HopsafeRequestOptions>("hopsafe.options")
internal val ExchangeKey = AttributeKey<HopsafeExchange>("hopsafe.exchange")

/** Sets this request's hopsafe options. */
fun HttpRequestBuilder.hopsafe(options: HopsafeRequestOptions) = attributes.put(OptionsKey, options)

/** What hopsafe did for this response (final URL and method, history, key), if hopsafe sent it. */
val HttpResponse.hopsafe: HopsafeExchange? get() = call.attributes.getOrNull(ExchangeKey)
