// The `node-fetch` peer: Node's own global fetch (undici) alone on the conformance scenarios,
// for comparison (`cargo xtask conformance --peer node-fetch`, column `peer:node-fetch`).
// Features fetch does not have (trusted origins, idempotency keys, replay limits, retries)
// are simply not set. The test CA reaches undici through NODE_EXTRA_CA_CERTS, which Node only
// reads at start: the runner re-runs itself with it set.
//   node peer-fetch.mjs SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { bodyObservation, readStreamed, requestBody, run } from './conformance-common.mjs'

if (!process.env.HOPSAFE_PEER_CA) {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-peer-'))
  const ca = join(dir, 'ca.pem')
  writeFileSync(ca, JSON.parse(readFileSync(process.argv[2], 'utf8')).ca_pem)
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca, HOPSAFE_PEER_CA: '1' },
  })
  rmSync(dir, { recursive: true, force: true })
  process.exit(child.status ?? 1)
}

/** The core name of a fetch failure, as far as undici's cause tells it. */
function errorName (e) {
  const cause = e?.cause
  const code = cause?.code ?? ''
  if (e?.name === 'TypeError' && /redirect count exceeded/.test(cause?.message ?? '')) return 'TooManyRedirects'
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'Connect'
  if (/CERT|SSL|TLS/.test(code) || /certificate/.test(cause?.message ?? '')) return 'Tls'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'Timeout'
  if (/URL scheme must be a HTTP\(S\) scheme/.test(cause?.message ?? '')) return 'UnsupportedScheme'
  if (code.startsWith('UND_ERR') || code.startsWith('HPE_') || code === 'ECONNRESET' || code === 'EPIPE' || e?.message === 'terminated') return 'Transport'
  return `${e?.name ?? 'Error'}: ${cause?.message ?? e?.message} (fetch)`
}

await run('peer:node-fetch', async (s, url, obs, { ready, id }) => {
  const r = s.request
  if (r.stream) {
    obs.skipped = 'not compared (streamed request body)'
    return
  }
  const init = { method: r.method, headers: r.headers ?? {} }
  const body = requestBody(r)
  if (body !== null) init.body = 'body' in r ? r.body : body
  if (r.follow_redirects === false || s.client?.follow_redirects === false) init.redirect = 'manual'
  try {
    const res = await fetch(url, init)
    // fetch keeps no history (only `redirected`) and does not say the final method.
    Object.assign(obs, { status: res.status, final_url: res.url })
    obs.body = bodyObservation(r.read === 'stream' ? await readStreamed(ready, res.body, id) : new Uint8Array(await res.arrayBuffer()))
  } catch (e) {
    obs.error = errorName(e)
  }
})
