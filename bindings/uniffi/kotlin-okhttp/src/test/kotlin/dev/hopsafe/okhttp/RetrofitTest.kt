package dev.hopsafe.okhttp

import com.google.gson.JsonParser
import dev.hopsafe.ClientConfig
import dev.hopsafe.HopsafeClient
import dev.hopsafe.TestServer
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.ResponseBody
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import retrofit2.Call
import retrofit2.Retrofit
import retrofit2.http.Body
import retrofit2.http.Header
import retrofit2.http.POST
import retrofit2.http.Url

class RetrofitTest {
    interface Orders {
        @POST
        fun create(
            @Url url: String,
            @Header("Authorization") auth: String,
            @Body body: RequestBody,
        ): Call<ResponseBody>
    }

    @Test
    fun `Retrofit with callFactory(HopsafeCallFactory) sends its calls through hopsafe`() {
        val a = TestServer.origin("a")
        val b = TestServer.origin("b")
        HopsafeClient(ClientConfig()).use { client ->
            val retrofit =
                Retrofit
                    .Builder()
                    .baseUrl("$a/")
                    .callFactory(HopsafeCallFactory(client))
                    .build()
            val resp =
                retrofit
                    .create(Orders::class.java)
                    .create(TestServer.redirect(a, 307, "$b/echo"), "Bearer s3cret", "order=42".toRequestBody())
                    .execute()
            assertEquals(200, resp.code())
            assertEquals(
                listOf(307),
                resp
                    .raw()
                    .hopsafe
                    ?.history
                    ?.map { it.status.toInt() },
            )
            val echo = JsonParser.parseString(resp.body()!!.string()).asJsonObject
            assertEquals("POST", echo.get("method").asString)
            assertEquals("order=42", echo.get("body").asString)
            assertNull(echo.getAsJsonObject("headers").get("authorization"))
        }
    }
}
