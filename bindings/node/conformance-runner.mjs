// The Node conformance runner (tests/conformance/PROTOCOL.md), through Client.request:
//   node conformance-runner.mjs SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
import { bodyObservation, chunks, client, hops, observeError, readStreamed, requestBody, run } from './conformance-common.mjs'

await run('node', async (s, url, obs, { ready, id }) => {
  const r = s.request
  const init = { method: r.method, url, headers: r.headers ?? {} }
  const body = requestBody(r)
  if (body !== null) init.body = r.stream ? chunks(body) : 'body' in r ? r.body : body
  if ('idempotency_key' in r) init.idempotencyKey = r.idempotency_key
  if ('follow_redirects' in r) init.followRedirects = r.follow_redirects
  if ('max_redirects' in r) init.maxRedirects = r.max_redirects
  if ('timeout_ms' in r) init.timeoutMs = r.timeout_ms
  try {
    const resp = await client(ready, s.client).request(init)
    Object.assign(obs, { status: resp.status, final_url: resp.url, final_method: resp.method, idempotency_key: resp.idempotencyKey, history: hops(resp.history) })
    obs.body = bodyObservation(r.read === 'stream' ? await readStreamed(ready, resp.body, id) : await resp.bytes())
  } catch (e) {
    if (!observeError(obs, e)) throw e
  }
})
