package dev.hopsafe

import com.google.gson.JsonParser
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File

class ConformanceRunnerTest {
    @Test
    fun `the runner records observations in the protocol's shape`() {
        // The smoke scenarios shared with the Swift runner check in xtask/src/swift.rs.
        val scenarios = "../conformance-smoke.json"
        val out = File.createTempFile("kotlin-observations", ".json")
        dev.hopsafe.conformance.main(arrayOf(System.getenv("HOPSAFE_SERVER_READY"), scenarios, out.path))
        val json = JsonParser.parseString(out.readText()).asJsonObject
        assertEquals("kotlin", json.get("runtime").asString)
        val obs = json.getAsJsonArray("observations").map { it.asJsonObject }
        assertEquals(listOf("307-post-cross-host", "too-many", "stream", "read-stream"), obs.map { it.get("id").asString })

        val first = obs[0]
        assertTrue(first.get("error").isJsonNull, first.toString())
        assertEquals(200, first.get("status").asInt)
        assertEquals("POST", first.get("final_method").asString)
        assertTrue(first.get("final_url").asString.startsWith(TestServer.origin("b")), first.toString())
        assertEquals(listOf(307), first.getAsJsonArray("history").map { it.asJsonObject.get("status").asInt })

        assertEquals("TooManyRedirects", obs[1].get("error").asString, obs[1].toString())
        assertEquals(200, obs[2].get("status").asInt, obs[2].toString())
        assertTrue(obs[2].get("skipped").isJsonNull, obs[2].toString())
        // Every success reports its body; the streamed read got the held body whole.
        for (o in obs.filter { it.get("error").isJsonNull }) assertTrue(o.has("body"), o.toString())
        val expected =
            dev.hopsafe.conformance
                .BodySeen()
                .apply { add(pattern(0, 100000)) }
                .json()
        assertEquals(expected, obs[3].get("body"), obs[3].toString())
        out.delete()
    }
}
