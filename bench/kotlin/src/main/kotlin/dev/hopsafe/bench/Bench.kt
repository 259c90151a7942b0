// Kotlin/JVM benchmark: hopsafe's uniffi binding against OkHttp and Ktor, and hopsafe under
// them (the hopsafe-okhttp and hopsafe-ktor adapters), in one JVM, same loopback server as
// the other languages.
//   java -Djna.library.path=target/release -cp ... dev.hopsafe.bench.BenchKt BASE_URL [--quick]
//        [--server-pid PID] [--clients a,b] [--workloads "POST 1 KiB,..."]
// prints one JSON object: "results", one {"client", "rps": {workload: median}, "spread":
// {workload: interquartile range / median}, "peak_rss_kib": null, "error"} per client;
// "others_cores", the CPU the rest of the machine (not this JVM, not the server PID) used
// meanwhile, in cores; "load", /proc/loadavg at the start and the end. Clients:
//   hopsafe       requestBlocking; concurrency = 64 platform threads
//   okhttp        Call.execute();  concurrency = 64 platform threads
//   hopsafe-async the suspend send; concurrency = 64 coroutines on Dispatchers.Default
//   okhttp-async  Call.enqueue() bridged to a coroutine; 64 coroutines likewise
//   ktor          a Ktor HttpClient on its CIO engine (307s followed for every method);
//                 64 coroutines likewise
//   okhttp+hopsafe  Call.execute() on hopsafe-okhttp's Call.Factory over the same hopsafe
//                 client as `hopsafe`; 64 platform threads
//   ktor+hopsafe  a Ktor HttpClient on the hopsafe-ktor engine over that client; 64 coroutines
// With HOPSAFE_BENCH_CPU=1 it also prints to stderr, per client and workload, the JVM's CPU time
// per request (all its threads, GC and JIT included) in the median of its rounds, warm-ups
// included: a steadier measure than the rate on a shared machine.
package dev.hopsafe.bench

import dev.hopsafe.ClientConfig
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HttpRequest
import dev.hopsafe.ktor.Hopsafe
import dev.hopsafe.okhttp.HopsafeCallFactory
import dev.hopsafe.send
import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.HttpRedirect
import io.ktor.client.request.request
import io.ktor.client.request.setBody
import io.ktor.client.statement.bodyAsBytes
import io.ktor.http.HttpMethod
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.suspendCancellableCoroutine
import okhttp3.Call
import okhttp3.Callback
import okhttp3.ConnectionPool
import okhttp3.Dispatcher
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import java.io.IOException
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

private const val CONCURRENCY = 64
private val KIB = ByteArray(1024) { 'x'.code.toByte() }
private const val BIG = 10 shl 20

/** One client under test: a request that returns the whole body, blocking or suspending. */
private sealed interface Peer {
    val name: String
}

/** A client called from platform threads. */
private class BlockingPeer(
    override val name: String,
    val call: (method: String, url: String, body: ByteArray?) -> ByteArray,
) : Peer

/** A client called from coroutines. */
private class SuspendPeer(
    override val name: String,
    val call: suspend (method: String, url: String, body: ByteArray?) -> ByteArray,
) : Peer

/** One measured workload: [total] requests, [concurrency] at a time. */
private data class Workload(
    val name: String,
    val method: String,
    val url: String,
    val body: ByteArray?,
    val total: Int,
    val concurrency: Int,
)

private fun hopsafeRequest(
    method: String,
    url: String,
    body: ByteArray?,
) = HttpRequest(method, url, emptyList(), body)

private fun checkStatus(
    status: Int,
    method: String,
    url: String,
) = check(status == 200) { "$method $url: status $status" }

private fun okhttpRequest(
    method: String,
    url: String,
    body: ByteArray?,
): Request =
    Request
        .Builder()
        .url(url)
        .method(method, body?.toRequestBody())
        .build()

private fun Response.bodyOrThrow(
    method: String,
    url: String,
): ByteArray =
    use {
        checkStatus(code, method, url)
        body.bytes()
    }

/** Suspends until OkHttp's dispatcher has run [this] call; cancelling the coroutine cancels it. */
private suspend fun Call.await(): Response =
    suspendCancellableCoroutine { cont ->
        cont.invokeOnCancellation { cancel() }
        enqueue(
            object : Callback {
                override fun onResponse(
                    call: Call,
                    response: Response,
                ) = cont.resume(response)

                override fun onFailure(
                    call: Call,
                    e: IOException,
                ) = cont.resumeWithException(e)
            },
        )
    }

/** OkHttp with room for [CONCURRENCY] kept-alive connections (its default keeps 5). */
private fun okhttp(): OkHttpClient =
    OkHttpClient
        .Builder()
        .connectionPool(ConnectionPool(CONCURRENCY, 5, TimeUnit.MINUTES))
        .dispatcher(
            Dispatcher().apply {
                maxRequests = CONCURRENCY
                maxRequestsPerHost = CONCURRENCY
            },
        ).build()

/** One Ktor request returning the whole body. */
private suspend fun HttpClient.call(
    method: String,
    url: String,
    body: ByteArray?,
): ByteArray {
    val resp =
        request(url) {
            this.method = HttpMethod.parse(method)
            if (body != null) setBody(body)
        }
    checkStatus(resp.status.value, method, url)
    return resp.bodyAsBytes()
}

private fun peers(): List<Peer> {
    val hopsafe = HopsafeClient(ClientConfig())
    val ok = okhttp()
    val viaHopsafe = HopsafeCallFactory(hopsafe)
    // Ktor's own engine; its redirect plugin follows a 307 for GET only unless told otherwise.
    val ktor =
        HttpClient(CIO) {
            followRedirects = false
            install(HttpRedirect) { checkHttpMethod = false }
        }
    // hopsafe follows the redirects: Ktor's own following stays off.
    val ktorHopsafe =
        HttpClient(Hopsafe) {
            followRedirects = false
            engine { client = hopsafe }
        }
    return listOf(
        BlockingPeer("hopsafe") { m, u, b ->
            val r = hopsafe.requestBlocking(hopsafeRequest(m, u, b))
            checkStatus(r.status.toInt(), m, u)
            r.body
        },
        BlockingPeer("okhttp") { m, u, b -> ok.newCall(okhttpRequest(m, u, b)).execute().bodyOrThrow(m, u) },
        SuspendPeer("hopsafe-async") { m, u, b ->
            val r = hopsafe.send(hopsafeRequest(m, u, b))
            checkStatus(r.status.toInt(), m, u)
            r.body
        },
        SuspendPeer("okhttp-async") { m, u, b -> ok.newCall(okhttpRequest(m, u, b)).await().bodyOrThrow(m, u) },
        SuspendPeer("ktor") { m, u, b -> ktor.call(m, u, b) },
        BlockingPeer("okhttp+hopsafe") { m, u, b -> viaHopsafe.newCall(okhttpRequest(m, u, b)).execute().bodyOrThrow(m, u) },
        SuspendPeer("ktor+hopsafe") { m, u, b -> ktorHopsafe.call(m, u, b) },
    )
}

private val threads = Executors.newFixedThreadPool(CONCURRENCY)

/** The JVM's CPU time so far, in nanoseconds. */
private val processCpu = java.lang.management.ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean

/** With HOPSAFE_BENCH_CPU=1: "client / workload" to each round's CPU microseconds per request. */
private val cpuPerRequest = java.util.concurrent.ConcurrentHashMap<String, MutableList<Double>>()
private val reportCpu = System.getenv("HOPSAFE_BENCH_CPU") == "1"

/** Runs [w] once on [peer]; returns requests per second. */
private fun measure(
    peer: Peer,
    w: Workload,
): Double {
    val each = w.total / w.concurrency
    val cpu = processCpu.processCpuTime
    val start = System.nanoTime()
    when (peer) {
        is BlockingPeer ->
            if (w.concurrency == 1) {
                repeat(each) { peer.call(w.method, w.url, w.body) }
            } else {
                val tasks = List(w.concurrency) { Callable { repeat(each) { peer.call(w.method, w.url, w.body) } } }
                threads.invokeAll(tasks).forEach { it.get() }
            }
        is SuspendPeer ->
            runBlocking(Dispatchers.Default) {
                repeat(w.concurrency) { launch { repeat(each) { peer.call(w.method, w.url, w.body) } } }
            }
    }
    val seconds = (System.nanoTime() - start) / 1e9
    if (reportCpu) {
        val us = (processCpu.processCpuTime - cpu) / 1e3 / (each * w.concurrency)
        cpuPerRequest.getOrPut("${peer.name} / ${w.name}") { mutableListOf() }.add(us)
    }
    return each * w.concurrency / seconds
}

/** One request on this peer from the calling thread. */
private fun Peer.once(
    method: String,
    url: String,
    body: ByteArray?,
): ByteArray =
    when (this) {
        is BlockingPeer -> call(method, url, body)
        is SuspendPeer -> runBlocking { call(method, url, body) }
    }

/** Checks that [peer] works, that a 307 kept the POST and its 1 KiB body, and the download size. */
private fun verify(
    peer: Peer,
    base: String,
) {
    val echo = peer.once("POST", "$base/r/307", KIB).decodeToString()
    check("\"method\":\"POST\"" in echo && "\"received\":1024" in echo) { "POST + 307 did not keep method and body: $echo" }
    val size = peer.once("GET", "$base/bytes/$BIG", null).size
    check(size == BIG) { "10 MiB download returned $size bytes" }
}

/** The [q] quantile of [v] (not empty), interpolated. */
private fun quantile(
    v: List<Double>,
    q: Double,
): Double {
    val s = v.sorted()
    val at = q * (s.size - 1)
    val lo = at.toInt()
    val hi = minOf(lo + 1, s.size - 1)
    return s[lo] + (s[hi] - s[lo]) * (at - lo)
}

/** CPU time so far in clock ticks: of the whole machine (busy, all cores) and of process [pid]. */
private object Cpu {
    fun machine(): Long =
        java.io
            .File("/proc/stat")
            .readLines()
            .first()
            .split(" ")
            .filter { it.isNotEmpty() }
            .drop(1)
            // user nice system idle iowait irq softirq steal: all but idle and iowait.
            .let { f -> listOf(0, 1, 2, 5, 6, 7).sumOf { f[it].toLong() } }

    fun process(pid: Long): Long =
        try {
            // utime and stime, the 14th and 15th fields, the 12th and 13th after the name.
            val f = java.io.File("/proc/$pid/stat").readText().substringAfterLast(") ").split(" ")
            f[11].toLong() + f[12].toLong()
        } catch (_: java.io.IOException) {
            0
        }

    fun load(): String = java.io.File("/proc/loadavg").readText().split(" ").take(3).joinToString(" ")
}

/** [s] as a JSON string literal. */
private fun json(s: String): String =
    buildString {
        append('"')
        for (c in s) {
            when {
                c == '"' || c == '\\' -> append('\\').append(c)
                c < ' ' -> append("\\u%04x".format(c.code))
                else -> append(c)
            }
        }
        append('"')
    }

/**
 * `BASE_URL [--quick] [--server-pid PID] [--clients ...] [--workloads ...]`: runs every
 * workload (or those named) on every client (or those named) and prints the
 * JSON results. Each workload runs in many short rounds, one per client in turn with the order
 * rotated each round (so a burst of load from elsewhere, a GC or a JIT compile lands on one
 * round of a few clients, not on one client's whole row), after one unmeasured round; the
 * median round is reported, with the interquartile range to show how much the rounds agree.
 */
fun main(args: Array<String>) {
    val base = args.firstOrNull() ?: error("usage: BenchKt BASE_URL [--quick] [--server-pid PID]")
    val quick = "--quick" in args
    val serverPid = args.indexOf("--server-pid").takeIf { it > 0 }?.let { args[it + 1].toLong() }
    // Requests per client per workload in all: the same as 3 (5) rounds of 1000 (5000) were.
    val rounds = if (quick) 9 else 15
    val n = (if (quick) 3000 else 25000) / rounds
    val echo = "$base/echo"
    val all =
        listOf(
            Workload("sequential GET", "GET", echo, null, n, 1),
            Workload("64 concurrent GET", "GET", echo, null, n * 4, CONCURRENCY),
            Workload("POST 1 KiB", "POST", echo, KIB, n, 1),
            Workload("POST 1 KiB + 307", "POST", "$base/r/307", KIB, n, 1),
            Workload("10 MiB download", "GET", "$base/bytes/$BIG", null, if (quick) 1 else 2, 1),
        )
    fun only(flag: String) = args.indexOf(flag).takeIf { it > 0 }?.let { args[it + 1].split(",") }
    val peers = peers().filter { p -> only("--clients")?.contains(p.name) ?: true }
    val workloads = all.filter { w -> only("--workloads")?.contains(w.name) ?: true }
    val errors = mutableMapOf<String, String>()
    val rps = peers.associate { it.name to mutableMapOf<String, MutableList<Double>>() }

    fun attempt(
        peer: Peer,
        what: String,
        f: () -> Unit,
    ) {
        if (peer.name in errors) return
        try {
            f()
        } catch (e: Exception) {
            errors[peer.name] = "$what: ${e::class.simpleName}: ${e.message}".take(200)
        }
    }
    for (peer in peers) {
        attempt(peer, "check") { verify(peer, base) }
        // Warm the pool and let the JIT compile the request paths before anything is timed.
        for (w in workloads) {
            attempt(peer, "warm-up ${w.name}") { measure(peer, w.copy(total = maxOf(w.total * 3 / 4, 2))) }
        }
    }
    val load = Cpu.load()
    val wall = System.nanoTime()
    val machine = Cpu.machine()
    val self = Cpu.process(ProcessHandle.current().pid())
    val server = serverPid?.let(Cpu::process) ?: 0
    for (w in workloads) {
        for (round in 0..rounds) {
            for (i in peers.indices) {
                val peer = peers[(i + round) % peers.size]
                attempt(peer, w.name) {
                    val r = measure(peer, w)
                    // Round 0 only warms this workload up.
                    if (round > 0) rps.getValue(peer.name).getOrPut(w.name) { mutableListOf() }.add(r)
                }
            }
        }
    }
    val seconds = (System.nanoTime() - wall) / 1e9
    val own = Cpu.process(ProcessHandle.current().pid()) - self + (serverPid?.let(Cpu::process) ?: 0) - server
    val others = ((Cpu.machine() - machine - own) / 100.0 / seconds).coerceAtLeast(0.0)

    fun stats(
        peer: Peer,
        f: (List<Double>) -> Double,
    ): String =
        rps
            .getValue(peer.name)
            .filterValues { it.size == rounds }
            .entries
            .joinToString(",", "{", "}") { (w, v) -> "${json(w)}:${f(v)}" }
    val results =
        peers.joinToString(",", "[", "]") { peer ->
            val medians = stats(peer) { quantile(it, 0.5) }
            val spread = stats(peer) { (quantile(it, 0.75) - quantile(it, 0.25)) / quantile(it, 0.5) }
            val error = errors[peer.name]?.let(::json) ?: "null"
            """{"client":${json(peer.name)},"rps":$medians,"spread":$spread,"peak_rss_kib":null,"error":$error}"""
        }
    for ((what, us) in cpuPerRequest.toSortedMap()) System.err.println("CPU per request, $what: %.1f us".format(quantile(us, 0.5)))
    println("""{"results":$results,"others_cores":$others,"load":${json("$load / ${Cpu.load()}")}}""")
    threads.shutdown()
    System.exit(0)
}
