// Cancellation storm through the JS API (issue #10): 200 concurrent POSTs, half of them
// aborted with an AbortController at a random point, then the server's records are checked.
//
// The uploads are Buffers (copied once, replayable), not streams: each upload is 256 KiB (200 in flight take a while through loopback and
// the server's hashing) and every delivery gets a random `delay_ms:` fault, so an abort lands
// while the body is being sent or while the client waits for the answer. The storm runs over
// HTTP/1.1 (one connection per request; the test server drops the handler of a connection
// that dies mid-body, so a cut upload leaves no record) and over HTTP/2 on TLS (one
// connection; an abort resets the stream and the server records the cut body as incomplete).
//
// Leaks are checked from outside: the storm runs in a child process (this file with
// HOPSAFE_STORM_CHILD=1), which must exit by itself once the client is unreachable. A leaked
// handle (a threadsafe function or timer the binding keeps alive) would keep it running.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomInt } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const STORM = 200
const BODY_SIZE = 256 * 1024
const CANCEL_WITHIN_MS = 100
const MAX_ATTEMPTS = 3 // the core's default retry policy
const CHILD_LIMIT_MS = 60_000

if (process.env.HOPSAFE_STORM_CHILD === '1') {
  await child()
} else {
  const { it } = await import('node:test')
  it('a cancellation storm never completes a cut body, and leaves no handle behind', async () => {
    const env = { ...process.env, HOPSAFE_STORM_CHILD: '1' }
    delete env.NODE_TEST_CONTEXT
    const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_LIMIT_MS)
    const [code, signal] = await new Promise((resolve) => proc.once('exit', (c, s) => resolve([c, s])))
    clearTimeout(timer)
    assert.equal(signal, null, `the storm process did not exit by itself within ${CHILD_LIMIT_MS} ms (leaked handles?)\n${out}\n${err}`)
    assert.equal(code, 0, `the storm process failed\n${out}\n${err}`)
    for (const line of out.trim().split('\n')) console.log(line)
  })
}

/** The storm itself; exits with an uncaught error (non-zero) when a check fails. */
async function child () {
  const [hopsafe, { startLab }] = await Promise.all([import('../index.mjs'), import('./lab.mjs')])
  const lab = await startLab()
  try {
    const seed = Number(process.env.HOPSAFE_STORM_SEED ?? randomInt(1_000_000))
    const rand = mulberry32(seed)
    const ctx = `(seed ${seed}; rerun with HOPSAFE_STORM_SEED=${seed})`
    // Baseline: the runtime is up, a first client was used and dropped, and stdout (a pipe
    // to the parent, opened lazily) is in use.
    await warmUp(hopsafe, lab)
    console.log(`storm child ${process.pid}: server up, runtime warm`)
    const before = resources()
    for (const origin of ['a', 'tls']) await storm(hopsafe, lab, origin, rand, ctx)
    global.gc?.()
    await new Promise((resolve) => setTimeout(resolve, 200))
    global.gc?.()
    const after = resources()
    console.log(`active resources before ${JSON.stringify(before)} after ${JSON.stringify(after)}`)
    for (const [name, n] of Object.entries(after)) {
      assert.ok(n <= (before[name] ?? 0), `resources left behind after the storm: ${JSON.stringify(after)} vs ${JSON.stringify(before)}`)
    }
  } finally {
    lab.stop()
  }
  // No process.exit: the parent checks that the process ends by itself.
  const watchdog = setTimeout(() => {
    console.error('still alive 10 s after the storm; active resources:', process.getActiveResourcesInfo())
  }, 10_000)
  watchdog.unref()
}

async function storm (hopsafe, lab, origin, rand, ctx) {
  const delays = Array.from({ length: STORM }, () => `delay_ms:${Math.floor(rand() * 150)}`)
  const [id, url] = await lab.script([{ status: 200, apply: true, faults: delays }], origin)
  const bodies = Array.from({ length: STORM }, (_, i) => body(i))
  const shas = new Map(bodies.map((b, i) => [`"storm-${i}"`, createHash('sha256').update(b).digest('hex')]))
  let client = new hopsafe.Client({ ca: lab.ca, retry: { baseDelayMs: 1, maxDelayMs: 5 } })
  const aborted = new Set()
  const pending = []
  for (let i = 0; i < STORM; i++) {
    let signal
    if (i % 2 === 0) {
      const ac = new AbortController()
      signal = ac.signal
      setTimeout(() => ac.abort(new Error(`storm abort ${i}`)), 1 + rand() * (CANCEL_WITHIN_MS - 1))
      aborted.add(i)
    }
    pending.push(client.post(url, { body: bodies[i], idempotencyKey: `storm-${i}`, signal }))
  }
  const outcomes = await Promise.allSettled(pending)
  client = null

  // What the client saw: an aborted request either rejected with CancelledError, or was
  // answered and then had its body read cancelled, or (the abort came after it ended)
  // succeeded; every other request succeeded with its own body.
  const cancelled = new Set()
  let bodyCancelled = 0
  for (const [i, o] of outcomes.entries()) {
    if (o.status === 'rejected') {
      assert.ok(aborted.has(i), `request ${i} failed without an abort: ${o.reason?.stack ?? o.reason} ${ctx}`)
      assert.ok(o.reason instanceof hopsafe.CancelledError, `request ${i}: ${o.reason?.stack ?? o.reason} ${ctx}`)
      assert.equal(o.reason.cause?.message, `storm abort ${i}`, `the abort reason is the cause ${ctx}`)
      cancelled.add(i)
      continue
    }
    const r = o.value
    assert.equal(r.status, 200, ctx)
    assert.equal(r.method, 'POST', ctx)
    assert.equal(r.idempotencyKey, `storm-${i}`, ctx)
    let echo
    try {
      echo = await r.json()
    } catch (e) {
      // The answer came before the abort, the abort before this read: then it cancels the
      // body read (as fetch's does). The request itself was answered, so it counts as one.
      assert.ok(aborted.has(i) && e instanceof hopsafe.CancelledError, `request ${i}: reading the body: ${e?.stack ?? e} ${ctx}`)
      assert.equal(e.cause?.message, `storm abort ${i}`, `the abort reason is the cause ${ctx}`)
      bodyCancelled++
      continue
    }
    assert.equal(echo.body_len, BODY_SIZE, ctx)
    assert.equal(echo.body_sha256, shas.get(`"storm-${i}"`), `request ${i} got another body's echo ${ctx}`)
  }
  assert.ok(cancelled.size >= 1, `no abort took effect ${ctx}`)
  assert.ok(STORM - cancelled.size >= STORM / 2, ctx)

  // What the server recorded: a body marked complete is whole and the right one; a cut body
  // is never applied; no key is applied twice; every success was applied.
  const recs = await stableRecords(lab, id)
  let cut = 0
  for (const r of recs) {
    assert.ok(shas.has(r.idempotency_key), `unexpected record ${JSON.stringify(r)} ${ctx}`)
    if (r.body_complete) {
      assert.equal(r.body_len, BODY_SIZE, `a cut body was taken as complete ${ctx}`)
      assert.equal(r.body_sha256, shas.get(r.idempotency_key), `body of ${r.idempotency_key} mixed up ${ctx}`)
    } else {
      cut++
      assert.ok(r.body_len <= BODY_SIZE && !r.applied, `a cut body was applied: ${JSON.stringify(r)} ${ctx}`)
    }
  }
  const w = await lab.writes(id)
  // A key may reach the server more than once only as a visible retry (HTTP/2: ~100 stream
  // resets on one connection can make the server drop it, and the un-cancelled keyed writes
  // on it are retried with the same key, which a deduplicating server applies once).
  for (const [k, n] of Object.entries(w.keys)) {
    const i = Number(k.slice('"storm-'.length, -1))
    const attempts = cancelled.has(i) ? MAX_ATTEMPTS : outcomes[i].value.attempts
    const seen = JSON.stringify(recs.filter((r) => r.idempotency_key === k).map(({ seq, body_len: len, applied, fault }) => ({ seq, len, applied, fault })))
    assert.ok(n <= attempts, `${k} was delivered ${n} times in ${attempts} attempts: ${seen} ${ctx}`)
  }
  for (let i = 0; i < STORM; i++) {
    if (!cancelled.has(i)) assert.ok(w.keys[`"storm-${i}"`] >= 1, `request ${i} succeeded but was not applied ${ctx}`)
  }
  const retried = outcomes.filter((o) => o.status === 'fulfilled' && o.value.attempts > 1).length
  const cancelledKeys = new Set([...cancelled].map((i) => `"storm-${i}"`))
  const appliedAnyway = Object.keys(w.keys).filter((k) => cancelledKeys.has(k)).length
  const recorded = new Set(recs.map((r) => r.idempotency_key))
  const noRecord = [...cancelledKeys].filter((k) => !recorded.has(k)).length
  const versions = [...new Set(recs.map((r) => r.version))].join(',')
  console.log(`storm over ${origin} (${versions}) ${ctx}: ${STORM} requests, ${aborted.size} aborted, ${cancelled.size} cancelled, ${bodyCancelled} body reads cancelled ` +
    `(${cut} cut bodies recorded incomplete, ${appliedAnyway} cancelled while awaiting the answer and applied, ` +
    `${noRecord} without a record); ${retried} un-cancelled requests retried`)
}

async function warmUp (hopsafe, lab) {
  const [, url] = await lab.script([{ status: 200 }])
  const c = new hopsafe.Client({ ca: lab.ca })
  assert.equal((await c.post(url, { body: 'warm-up' })).status, 200)
  global.gc?.()
}

/** The script's records once their number stops changing (a cut upload is recorded when the
 * server notices the cut). */
async function stableRecords (lab, id) {
  let recs = await lab.records(id)
  for (let n = 0; n < 50; n++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const again = await lab.records(id)
    if (again.length === recs.length) return again
    recs = again
  }
  return recs
}

function resources () {
  const counts = {}
  // (An `Immediate` is the event loop's own business, not a resource anyone holds.)
  for (const name of process.getActiveResourcesInfo().filter((n) => n !== 'Immediate')) counts[name] = (counts[name] ?? 0) + 1
  return counts
}

function body (i) {
  const unit = Buffer.from(`storm-${String(i).padStart(4, '0')}|`)
  return Buffer.alloc(BODY_SIZE, unit)
}

/** A small seeded PRNG, so a failing storm can be replayed. */
function mulberry32 (a) {
  return () => {
    a |= 0
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
