// The native side: one runtime, aborts reach the socket, no handle outlives a request,
// streamed bodies fed to the core while the request runs.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { BodyNotReplayableError, CancelledError, Client } from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
before(async () => { lab = await startLab() })
after(() => lab?.stop())

const threadNames = () => readdirSync('/proc/self/task').map((t) => {
  try { return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() } catch { return '' }
})

describe('runtime', () => {
  it('runs requests on the core one-worker runtime only (no napi or shared tokio runtime)', async () => {
    const client = new Client()
    await Promise.all(Array.from({ length: 20 }, () => client.get(lab.origins.a + '/echo')))
    const res = await client.get(lab.origins.a + '/echo')
    for await (const _ of res.body) { /* a streamed read: try_next on the JS thread */ }
    const names = threadNames()
    assert.equal(names.filter((n) => n === 'hopsafe-io').length, 1, names.join(','))
    assert.ok(!names.some((n) => n.startsWith('hopsafe-rt') || n.startsWith('tokio-runtime')), names.join(','))
  })

  it('drops the connection when the signal aborts', async () => {
    let closed
    const seen = new Promise((resolve) => { closed = resolve })
    const server = createServer((req) => { req.socket.once('close', closed) })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const ac = new AbortController()
      const pending = new Client().get(`http://127.0.0.1:${server.address().port}/hang`, { signal: ac.signal })
      await new Promise((resolve) => server.once('request', resolve))
      ac.abort(new Error('user gave up'))
      await assert.rejects(pending, (e) => e instanceof CancelledError && e.cause?.message === 'user gave up')
      await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error('server never saw the close')), 3000))])
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('lets the process exit on its own after requests and an abort', () => {
    const index = fileURLToPath(new URL('../index.js', import.meta.url))
    const script = `
      const { Client } = require(${JSON.stringify(index)})
      const c = new Client()
      const ac = new AbortController()
      const slow = c.get(process.argv[1] + '/fault/delay_ms:5000', { signal: ac.signal }).catch((e) => e.name)
      setTimeout(() => ac.abort(), 50)
      Promise.all([c.post(process.argv[1] + '/echo', { body: 'x' }), slow]).then(([r, s]) => console.log(r.status, s))`
    const r = spawnSync(process.execPath, ['-e', script, lab.origins.a], { encoding: 'utf8', timeout: 15_000 })
    assert.equal(r.error, undefined, 'the child did not exit by itself')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout.trim(), '200 CancelledError')
  })
})

describe('streamed bodies', () => {
  it('sends a ReadableStream body and replays it on 307', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
    const stream = new ReadableStream({ start (c) { c.enqueue(new TextEncoder().encode('hello ')); c.enqueue(new TextEncoder().encode('world')); c.close() } })
    assert.equal((await new Client().post(url, { body: stream })).status, 200)
    const sha = createHash('sha256').update('hello world').digest('hex')
    assert.deepEqual((await lab.records(id)).map((r) => r.body_sha256), [sha, sha])
  })

  it('streams a body larger than replayLimit when no replay is needed', async () => {
    const [id, url] = await lab.script([{ status: 200, apply: true }])
    let pulls = 0
    const stream = new ReadableStream({
      pull (c) { if (++pulls > 64) c.close(); else c.enqueue(new Uint8Array(4096).fill(pulls)) },
    })
    const r = await new Client({ replayLimit: 4096 }).post(url, { body: stream })
    assert.equal(r.status, 200)
    const [rec] = await lab.records(id)
    assert.equal(rec.body_len, 64 * 4096)
    assert.deepEqual(rec.headers['transfer-encoding'], ['chunked'])
  })

  it('fails a 307 past replayLimit with BodyNotReplayableError, never a truncated resend', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, apply: true }])
    async function * big () { for (let i = 0; i < 16; i++) yield Buffer.alloc(4096, i) }
    await assert.rejects(new Client({ replayLimit: 4096 }).post(url, { body: big() }),
      (e) => e instanceof BodyNotReplayableError && e.code === 'HOPSAFE_BODY_NOT_REPLAYABLE' && e.history.length === 1)
    const recs = await lab.records(id)
    assert.equal(recs.length, 1, 'nothing was resent')
    assert.equal(recs[0].body_len, 16 * 4096)
  })

  it('an error thrown by the stream aborts the upload and is rethrown', async () => {
    const [id, url] = await lab.script([{ status: 200, apply: true }])
    const boom = new Error('disk went away')
    async function * broken () { yield Buffer.alloc(16384, 1); yield Buffer.alloc(16384, 2); throw boom }
    await assert.rejects(new Client().post(url, { body: broken() }), (e) => e === boom)
    assert.equal((await lab.writes(id)).applications, 0, 'a cut body was applied')
    for (const r of await lab.records(id)) assert.equal(r.body_complete, false)
  })
})
