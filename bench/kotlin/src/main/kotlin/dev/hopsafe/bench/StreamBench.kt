// The streamed-download row of the Kotlin bench: one client per JVM (so its memory is its own).
//   java [JVM flags] -cp ... dev.hopsafe.bench.StreamBenchKt BASE_URL CLIENT BYTES
// prints {"client", "bytes", "mib_per_s", "rss_growth_kib", "error"}. Clients:
//   hopsafe        openBlocking + body.inputStream(), read into one 64 KiB buffer
//   hopsafe-flow   the suspend stream + body.asFlow()
//   okhttp         execute + body.byteStream(), read into one 64 KiB buffer
// The peak RSS growth is VmHWM after the download minus VmRSS before it, with the peak reset
// (`/proc/self/clear_refs` 5) after a 16 MiB warm-up download on the same client.
package dev.hopsafe.bench

import dev.hopsafe.ClientConfig
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HttpRequest
import dev.hopsafe.asFlow
import dev.hopsafe.inputStream
import dev.hopsafe.stream
import dev.hopsafe.use
import kotlinx.coroutines.runBlocking
import okhttp3.OkHttpClient
import okhttp3.Request
import java.io.File
import java.io.InputStream

/** A `/proc/self/status` field in KiB. */
private fun status(field: String): Long =
    File("/proc/self/status")
        .readLines()
        .first { it.startsWith("$field:") }
        .split(Regex("\\s+"))[1]
        .toLong()

/** Reads [input] to its end into one reused buffer; returns the byte count. */
private fun drain(input: InputStream): Long {
    val buf = ByteArray(64 * 1024)
    var total = 0L
    while (true) {
        val n = input.read(buf)
        if (n < 0) return total
        total += n
    }
}

/** One streamed download of [url] by [client]; returns the bytes read. */
private fun download(
    client: String,
    url: String,
    hopsafe: HopsafeClient,
    ok: OkHttpClient,
): Long =
    when (client) {
        "hopsafe" -> hopsafe.openBlocking(HttpRequest("GET", url)).use { drain(it.body.inputStream()) }
        "hopsafe-flow" ->
            runBlocking {
                hopsafe.stream(HttpRequest("GET", url)).use { resp ->
                    var total = 0L
                    resp.body.asFlow().collect { total += it.size }
                    total
                }
            }
        "okhttp" -> ok.newCall(Request.Builder().url(url).build()).execute().use { drain(it.body.byteStream()) }
        else -> error("unknown client $client")
    }

/** `BASE_URL CLIENT BYTES`: see the file comment. */
fun main(args: Array<String>) {
    val (base, client, size) = args
    val hopsafe = HopsafeClient(ClientConfig())
    val ok = OkHttpClient()
    var out = """{"client":"$client","bytes":$size,"mib_per_s":null,"rss_growth_kib":null"""
    try {
        check(download(client, "$base/stream/${16 shl 20}", hopsafe, ok) == 16L shl 20) { "warm-up download short" }
        System.gc()
        File("/proc/self/clear_refs").writeText("5")
        val before = status("VmRSS")
        val start = System.nanoTime()
        val read = download(client, "$base/stream/$size", hopsafe, ok)
        val secs = (System.nanoTime() - start) / 1e9
        check(read == size.toLong()) { "read $read of $size bytes" }
        val growth = status("VmHWM") - before
        out = """{"client":"$client","bytes":$size,"mib_per_s":${read / 1048576.0 / secs},"rss_growth_kib":$growth"""
        println("$out,\"error\":null}")
    } catch (e: Exception) {
        println("$out,\"error\":\"${e::class.simpleName}: ${e.message?.replace("\"", "'")}\"}")
    }
    System.exit(0)
}
