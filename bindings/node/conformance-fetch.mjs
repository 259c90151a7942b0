// The `node-fetch` conformance runner: every scenario through hopsafe.fetch (the WHATWG API),
// with the client configured as the native runner does (conformance-common.mjs).
//   node conformance-fetch.mjs SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
import { hopsafeInfo } from './index.mjs'
import { bodyObservation, chunks, client, hops, observeError, readStreamed, requestBody, run } from './conformance-common.mjs'

/** A ReadableStream over an async iterable (fetch takes streams with `duplex: 'half'`). */
function stream (iterable) {
  const it = iterable[Symbol.asyncIterator]()
  return new ReadableStream({
    async pull (c) {
      const { done, value } = await it.next()
      if (done) c.close()
      else c.enqueue(value)
    },
  })
}

await run('node-fetch', async (s, url, obs, { ready, id }) => {
  const r = s.request
  const init = { method: r.method, headers: r.headers ?? {} }
  const body = requestBody(r)
  if (body !== null) {
    init.body = r.stream ? stream(chunks(body)) : 'body' in r ? r.body : body
    if (r.stream) init.duplex = 'half'
  }
  // What fetch's init cannot say goes in init.hopsafe (a string key could also be a header).
  const extra = {}
  if ('idempotency_key' in r) extra.idempotencyKey = r.idempotency_key
  if ('max_redirects' in r) extra.maxRedirects = r.max_redirects
  if ('timeout_ms' in r) extra.timeoutMs = r.timeout_ms
  init.hopsafe = extra
  if (r.follow_redirects === false) init.redirect = 'manual'
  try {
    const res = await client(ready, s.client).fetch(url, init)
    const info = res[hopsafeInfo]
    Object.assign(obs, { status: res.status, final_url: res.url, final_method: info.method, idempotency_key: info.idempotencyKey, history: hops(info.history) })
    obs.body = bodyObservation(r.read === 'stream' ? await readStreamed(ready, res.body, id) : new Uint8Array(await res.arrayBuffer()))
  } catch (e) {
    // fetch's network failure: TypeError('fetch failed') with the hopsafe error as its cause.
    if (!(e instanceof TypeError && observeError(obs, e.cause)) && !observeError(obs, e)) throw e
  }
})
