// The `peer:kotlin-okhttp` column: plain OkHttp alone on the same scenarios, for comparison
// (`cargo xtask conformance --peer kotlin-okhttp`). Features OkHttp does not have (trusted
// origins, idempotency keys, replay limits, max_redirects) are simply not set.
// `PeerRunner SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`.
package dev.hopsafe.okhttp.conformance

import dev.hopsafe.conformance.Play
import dev.hopsafe.conformance.opt
import dev.hopsafe.conformance.runScenarios
import dev.hopsafe.conformance.template
import okhttp3.OkHttpClient
import java.io.IOException
import java.io.InterruptedIOException
import java.net.InetSocketAddress
import java.net.Proxy
import java.net.URI
import java.security.KeyStore
import java.security.cert.CertificateFactory
import java.util.concurrent.TimeUnit
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLException
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/** OkHttp trusting the test server's CA (and nothing else). */
private fun base(caPem: String): OkHttpClient.Builder {
    val ks = KeyStore.getInstance(KeyStore.getDefaultType()).apply { load(null) }
    CertificateFactory
        .getInstance("X.509")
        .generateCertificates(caPem.byteInputStream())
        .forEachIndexed { i, c -> ks.setCertificateEntry("ca$i", c) }
    val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(ks) }
    val tm = tmf.trustManagers.filterIsInstance<X509TrustManager>().first()
    val ctx = SSLContext.getInstance("TLS").apply { init(null, arrayOf(tm), null) }
    return OkHttpClient.Builder().sslSocketFactory(ctx.socketFactory, tm)
}

/** The peer's name for an OkHttp failure, in the core's vocabulary where one fits. */
private fun errorName(e: IOException): String =
    when {
        e is java.net.ProtocolException && e.message.orEmpty().startsWith("Too many follow-up") -> "TooManyRedirects"
        e is java.net.ConnectException -> "Connect"
        e is SSLException -> "Tls"
        e is InterruptedIOException && e.message.orEmpty().contains("timeout") -> "Timeout"
        e is java.net.SocketException || e is java.io.EOFException || e is okhttp3.internal.http2.StreamResetException -> "Transport"
        else -> "${e::class.simpleName} (okhttp)"
    }

/** Plays a scenario with a plain OkHttpClient built from the scenario's `client` fields it has. */
internal fun sendPeer(p: Play) {
    val c = p.clientSpec
    val follow = p.spec.opt("follow_redirects")?.asBoolean ?: c.opt("follow_redirects")?.asBoolean ?: true
    val builder = base(p.caPem).followRedirects(follow).followSslRedirects(follow)
    c.opt("timeout_ms")?.let { builder.callTimeout(it.asLong, TimeUnit.MILLISECONDS) }
    c.opt("read_timeout_ms")?.let { builder.readTimeout(it.asLong, TimeUnit.MILLISECONDS) }
    c.opt("proxy")?.asString?.let { template(it, p.origins) }?.let { spec ->
        val uri = URI(spec)
        val type = if (uri.scheme.startsWith("socks")) Proxy.Type.SOCKS else Proxy.Type.HTTP
        builder.proxy(Proxy(type, InetSocketAddress.createUnresolved(uri.host, uri.port)))
    }
    val client = builder.build()
    val (request, refused) = okRequest(p.request, p.streamBody, null)
    if (request == null) return p.skip(refused ?: "")
    try {
        client
            .newCall(request)
            .withTimeout(p.request)
            .execute()
            .use { observe(p, it) }
    } catch (e: IOException) {
        p.obs.addProperty("error", errorName(e))
    } finally {
        client.dispatcher.executorService.shutdown()
        client.connectionPool.evictAll()
    }
}

/** Entry point: see the file comment. */
fun main(args: Array<String>) = runScenarios(args, "peer:kotlin-okhttp", ::sendPeer)
