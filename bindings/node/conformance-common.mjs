// What every Node conformance runner shares (tests/conformance/PROTOCOL.md): the scenario's
// client configuration as hopsafe Client options, its request, the script on the test
// server, the observation of a response or an error, the body digest, and the run itself.
//   import { run } from './conformance-common.mjs'; await run('node', play)
import { readFileSync, writeFileSync } from 'node:fs'

import { Client, HopsafeError, UpgradeRequiredError } from './index.mjs'

/** Reads `SERVER_READY_JSON SCENARIOS_JSON OUT_JSON` from the command line. */
export function args (argv = process.argv.slice(2)) {
  const [readyPath, scenariosPath, outPath] = argv
  return { ready: JSON.parse(readFileSync(readyPath, 'utf8')), scenarios: JSON.parse(readFileSync(scenariosPath, 'utf8')).scenarios, outPath }
}

/** `{label}` placeholders of `s` replaced by the server's origins. */
export const expand = (ready, s) => Object.entries(ready.origins).reduce((t, [label, base]) => t.replaceAll(`{${label}}`, base), s)

/** The hopsafe Client options of a scenario's `client` fields. */
export function clientOptions (ready, spec = {}) {
  const x = (s) => expand(ready, s)
  const o = { ca: ready.ca_pem, trustedOrigins: (spec.trusted_origins ?? []).map(x), sensitiveHeaders: spec.sensitive_headers ?? [] }
  if ('allow_https_downgrade' in spec) o.allowHttpsDowngrade = spec.allow_https_downgrade
  if ('follow_redirects' in spec) o.followRedirects = spec.follow_redirects
  if ('max_redirects' in spec) o.maxRedirects = spec.max_redirects
  if ('replay_limit' in spec) o.replayLimit = spec.replay_limit
  if ('max_body_size' in spec) o.maxBodySize = spec.max_body_size
  if ('key_honoring_origins' in spec) o.keyHonoringOrigins = spec.key_honoring_origins.map(x)
  if ('proxy' in spec) o.proxy = x(spec.proxy)
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
  return o
}

/** The hopsafe Client a scenario configures. */
export const client = (ready, spec) => new Client(clientOptions(ready, spec))

/** The scenario request's body bytes, or null. */
export function requestBody (r) {
  if ('body' in r) return Buffer.from(r.body)
  if ('body_size' in r) return Buffer.alloc(r.body_size, 'x')
  return null
}

/** A one-shot async iterable of 16 KiB chunks: the client streams it. */
export async function * chunks (buf) {
  for (let i = 0; i < buf.length; i += 16384) yield buf.subarray(i, i + 16384)
}

/** FNV-1a 64 of `bytes`, as 16 hex digits. */
export function fnv1a64 (bytes) {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n)
  return h.toString(16).padStart(16, '0')
}

/** Reads a body stream chunk by chunk; releases the script's held bodies after the first. */
export async function readStreamed (ready, body, id) {
  const parts = []
  for await (const chunk of body) {
    if (parts.length === 0) {
      const r = await fetch(`${ready.origins.a}/__scripts/${id}/release`, { method: 'POST' })
      await r.arrayBuffer()
    }
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

/** The protocol's body observation. */
export const bodyObservation = (bytes) => ({ len: bytes.byteLength, fnv1a64: fnv1a64(bytes) })

/** Only `method`, `url` and `status` of each hop. */
export const hops = (h) => h.map(({ method, url, status }) => ({ method, url, status }))

/** Records a hopsafe error in `obs` (core name, history, write_accepted, upgrade); false for any other error. */
export function observeError (obs, e) {
  if (!(e instanceof HopsafeError)) return false
  // The protocol reports core names: the class name without its `Error` suffix.
  obs.error = e.constructor === HopsafeError ? e.name : e.name.replace(/Error$/, '')
  obs.history = hops(e.history)
  obs.write_accepted = e.writeAccepted
  if (e instanceof UpgradeRequiredError) obs.upgrade = { sdk: e.sdk, minimum_version: e.minimumVersion, current_version: e.currentVersion }
  return true
}

/**
 * Plays every scenario with `play(scenario, url, obs, { ready, id })` (which fills `obs`) and
 * writes the observations as `runtime`.
 */
export async function run (runtime, play, argv) {
  const { ready, scenarios, outPath } = args(argv)
  const observations = []
  for (const s of scenarios) {
    const res = await fetch(`${ready.origins.a}/__scripts`, { method: 'POST', body: JSON.stringify({ steps: s.steps }) })
    const { id } = await res.json()
    const obs = { id: s.id, script_id: id, error: null, status: null, final_url: null, final_method: null, idempotency_key: null, history: [], skipped: null }
    await play(s, `${ready.origins[s.request.origin]}/s/${id}/0`, obs, { ready, id })
    observations.push(obs)
  }
  writeFileSync(outPath, JSON.stringify({ runtime, observations }, null, 1))
}
