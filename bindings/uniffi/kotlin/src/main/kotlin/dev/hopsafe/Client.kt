package dev.hopsafe

/**
 * Builds a client from [config]; an invalid option throws [InvalidConfigException].
 *
 * This is how applications make a client: it reports `l=kotlin` in `Client-SDK` and the JVM or
 * Android version in `User-Agent` itself, so a server can pin Kotlin apps. Name your app or SDK
 * with [ClientConfig.sdkName] and [ClientConfig.sdkVersion]. [redirectHook] is asked before
 * every hop (see [redirectHook]); [listener] is told about every request, hop and retry of this
 * client (see [hopsafeListener]).
 */
fun HopsafeClient(
    config: ClientConfig = ClientConfig(),
    redirectHook: RedirectHook? = null,
    listener: HopsafeListener? = null,
): HopsafeClient = HopsafeClient.forBinding(config, KotlinPlatform.current, redirectHook, listener)

/**
 * A [HopsafeListener] from a function:
 * `HopsafeClient(config, listener = hopsafeListener { event -> log.debug("{}", event) })`.
 * Events are [HopsafeEvent.Request], [HopsafeEvent.Hop] (with the headers dropped and why) and
 * [HopsafeEvent.Retry]; none carries a credential, path or query. It runs on one of hopsafe's
 * threads while the call goes on; keep it quick. An exception it throws is ignored.
 */
fun hopsafeListener(handle: (HopsafeEvent) -> Unit): HopsafeListener =
    object : HopsafeListener {
        override fun onEvent(event: HopsafeEvent) = handle(event)
    }

/**
 * A [RedirectHook] from a function: `HopsafeClient(config, redirectHook { info -> ... })`.
 * It runs on one of hopsafe's threads while the call waits; keep it quick. Throwing rejects
 * the redirect ([RedirectRejectedException]).
 */
fun redirectHook(decide: (RedirectInfo) -> RedirectDecision): RedirectHook =
    object : RedirectHook {
        override fun onRedirect(attempt: RedirectInfo): RedirectDecision = decide(attempt)
    }

/** The language and runtime this binding reports, computed once per process. */
internal object KotlinPlatform {
    val current: BindingPlatform by lazy { BindingPlatform(language = "kotlin", runtime = android() ?: jvm()) }

    /** `android/14` on Android (read reflectively, so the JVM build needs no Android SDK). */
    private fun android(): String? =
        try {
            token("android", Class.forName("android.os.Build\$VERSION").getField("RELEASE").get(null) as? String)
        } catch (_: ReflectiveOperationException) {
            null
        } catch (_: LinkageError) {
            null
        }

    private fun jvm(): String? = token("jvm", System.getProperty("java.version"))

    /** `name/version` with the version cut to characters valid in a `User-Agent` product. */
    private fun token(
        name: String,
        version: String?,
    ): String? =
        version
            ?.filter { it.isLetterOrDigit() && it.code < 128 || it in ".-_+" }
            ?.take(32)
            ?.takeIf { it.isNotEmpty() }
            ?.let { "$name/$it" }
}
