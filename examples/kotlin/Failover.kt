// A POST that survives a regional failover: the primary answers 307 with the backup's
// URL, hopsafe resends the same method, body and Idempotency-Key there.
//
// Compiled and run with the Kotlin tests, not shipped in the hopsafe-kotlin jar. Run it with
// `mvn -q test-compile exec:java -Dexec.mainClass=dev.hopsafe.examples.FailoverKt -Dexec.args=URL`
// in bindings/uniffi/kotlin, or copy placeOrder into your own code.
package dev.hopsafe.examples

import dev.hopsafe.ClientConfig
import dev.hopsafe.Header
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HopsafeException
import dev.hopsafe.HttpRequest
import dev.hopsafe.HttpResponse

/** Posts one order to [url] and returns the final response (after any redirects). */
fun placeOrder(
    client: HopsafeClient,
    url: String,
): HttpResponse =
    client.requestBlocking(
        HttpRequest(
            method = "POST",
            url = url,
            headers = listOf(Header("content-type", "application/json"), Header("authorization", "Bearer demo")),
            body = """{"sku":"A-1","qty":2}""".toByteArray(),
        ),
    )

/** `Failover URL`: posts an order and prints each hop. */
fun main(args: Array<String>) {
    val url = args.firstOrNull() ?: error("usage: Failover URL")
    HopsafeClient(ClientConfig()).use { client ->
        try {
            val resp = placeOrder(client, url)
            for (hop in resp.history) {
                println("${hop.method} ${hop.url} -> ${hop.status} (key ${hop.idempotencyKey}, dropped ${hop.dropped.map { it.name }})")
            }
            println("${resp.method} ${resp.url} -> ${resp.status}, key ${resp.idempotencyKey}")
        } catch (e: HopsafeException) {
            println("failed: ${e::class.simpleName}: ${e.message}")
        }
    }
}
