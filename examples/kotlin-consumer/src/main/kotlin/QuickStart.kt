// The README's Kotlin quick start as a user's project runs it: `java -cp ... example.QuickStartKt URL`
// posts an order to URL (default: the README's) and prints every hop and the final response.
package example

import dev.hopsafe.ClientConfig
import dev.hopsafe.Header
import dev.hopsafe.HopsafeClient
import dev.hopsafe.HopsafeException
import dev.hopsafe.HttpRequest
import dev.hopsafe.send
import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    val url = args.firstOrNull() ?: "https://api.example.com/v1/orders"
    val ok =
        runBlocking {
            HopsafeClient(ClientConfig(trustedOrigins = listOf("https://*.api.example.com"))).use { client ->
                try {
                    val resp =
                        client.send(
                            HttpRequest(
                                method = "POST",
                                url = url,
                                headers = listOf(Header("authorization", "Bearer s3cret")),
                                body = """{"sku":"A-1"}""".toByteArray(),
                            ),
                        )
                    for (hop in resp.history) println("hop ${hop.status} ${hop.url} dropped ${hop.dropped.map { it.name }}")
                    println("final ${resp.status} key=${resp.idempotencyKey}")
                    println(resp.body.decodeToString())
                    true
                } catch (e: HopsafeException) {
                    println("${e::class.simpleName}: ${e.message}")
                    false
                }
            }
        }
    if (!ok) exitProcess(1)
}
