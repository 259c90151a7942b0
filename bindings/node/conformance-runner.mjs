// The Node conformance runner (tests/conformance/PROTOCOL.md):
//   node conformance-runner.mjs SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
import { readFileSync, writeFileSync } from 'node:fs'

import { Client, HopsafeError, UpgradeRequiredError } from './index.mjs'

const [readyPath, scenariosPath, outPath] = process.argv.slice(2)
const ready = JSON.parse(readFileSync(readyPath, 'utf8'))
const { scenarios } = JSON.parse(readFileSync(scenariosPath, 'utf8'))
const expand = (s) => Object.entries(ready.origins).reduce((t, [label, base]) => t.replaceAll(`{${label}}`, base), s)

function client (spec = {}) {
  const o = { ca: ready.ca_pem, trustedOrigins: (spec.trusted_origins ?? []).map(expand), sensitiveHeaders: spec.sensitive_headers ?? [] }
  if ('allow_https_downgrade' in spec) o.allowHttpsDowngrade = spec.allow_https_downgrade
  if ('follow_redirects' in spec) o.followRedirects = spec.follow_redirects
  if ('max_redirects' in spec) o.maxRedirects = spec.max_redirects
  if ('replay_limit' in spec) o.replayLimit = spec.replay_limit
  if ('max_body_size' in spec) o.maxBodySize = spec.max_body_size
  if ('key_honoring_origins' in spec) o.keyHonoringOrigins = spec.key_honoring_origins.map(expand)
  if ('proxy' in spec) o.proxy = expand(spec.proxy)
  if ('cookies' in spec) o.cookies = spec.cookies
  if (spec.client_identity) { o.cert = ready.client_cert_pem; o.key = ready.client_key_pem }
  if ('sdk_name' in spec) o.sdkName = spec.sdk_name
  if ('sdk_version' in spec) o.sdkVersion = spec.sdk_version
  if (spec.idempotency?.generate !== undefined) o.idempotencyKeys = spec.idempotency.generate
  if (spec.idempotency?.format !== undefined) o.idempotencyKeyFormat = spec.idempotency.format
  if (spec.retry) {
    const r = spec.retry
    o.retry = { maxAttempts: r.max_attempts, baseDelayMs: r.base_delay_ms, maxDelayMs: r.max_delay_ms, maxRetryAfterMs: r.max_retry_after_ms, statuses: r.statuses, retryKeyedWrites: r.retry_keyed_writes }
  }
  if ('timeout_ms' in spec) o.timeoutMs = spec.timeout_ms
  if ('read_timeout_ms' in spec) o.readTimeoutMs = spec.read_timeout_ms
  return new Client(o)
}

const hops = (h) => h.map(({ method, url, status }) => ({ method, url, status }))

/** A one-shot async iterable of 16 KiB chunks: the client streams it. */
async function * chunks (buf) {
  for (let i = 0; i < buf.length; i += 16384) yield buf.subarray(i, i + 16384)
}

/** FNV-1a 64 of `bytes`, as 16 hex digits. */
function fnv1a64 (bytes) {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n)
  return h.toString(16).padStart(16, '0')
}

/** Reads the body chunk by chunk; releases the script's held bodies after the first. */
async function readStreamed (resp, id) {
  const parts = []
  for await (const chunk of resp.body) {
    if (parts.length === 0) {
      const r = await fetch(`${ready.origins.a}/__scripts/${id}/release`, { method: 'POST' })
      await r.arrayBuffer()
    }
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

async function play (s) {
  const res = await fetch(`${ready.origins.a}/__scripts`, { method: 'POST', body: JSON.stringify({ steps: s.steps }) })
  const { id } = await res.json()
  const obs = { id: s.id, script_id: id, error: null, status: null, final_url: null, final_method: null, idempotency_key: null, history: [], skipped: null }
  const r = s.request
  const init = { method: r.method, url: `${ready.origins[r.origin]}/s/${id}/0`, headers: r.headers ?? {} }
  if ('body' in r) init.body = r.body
  else if ('body_size' in r) init.body = Buffer.alloc(r.body_size, 'x')
  if (r.stream && init.body != null) init.body = chunks(Buffer.from(init.body))
  if ('idempotency_key' in r) init.idempotencyKey = r.idempotency_key
  if ('follow_redirects' in r) init.followRedirects = r.follow_redirects
  if ('max_redirects' in r) init.maxRedirects = r.max_redirects
  if ('timeout_ms' in r) init.timeoutMs = r.timeout_ms
  try {
    const resp = await client(s.client).request(init)
    Object.assign(obs, { status: resp.status, final_url: resp.url, final_method: resp.method, idempotency_key: resp.idempotencyKey, history: hops(resp.history) })
    const body = r.read === 'stream' ? await readStreamed(resp, id) : await resp.bytes()
    obs.body = { len: body.byteLength, fnv1a64: fnv1a64(body) }
  } catch (e) {
    if (!(e instanceof HopsafeError)) throw e
    // The protocol reports core names: the class name without its `Error` suffix.
    obs.error = e.constructor === HopsafeError ? e.name : e.name.replace(/Error$/, '')
    obs.history = hops(e.history)
    obs.write_accepted = e.writeAccepted
    if (e instanceof UpgradeRequiredError) obs.upgrade = { sdk: e.sdk, minimum_version: e.minimumVersion, current_version: e.currentVersion }
  }
  return obs
}

const observations = []
for (const s of scenarios) observations.push(await play(s))
writeFileSync(outPath, JSON.stringify({ runtime: 'node', observations }, null, 1))
