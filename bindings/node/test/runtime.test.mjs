// The native side: one runtime, aborts reach the socket, no handle outlives a request,
// streamed bodies bounded by the replay limit.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { BodyNotReplayable, Cancelled, Client } from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
before(async () => { lab = await startLab() })
after(() => lab?.stop())

const threadNames = () => readdirSync('/proc/self/task').map((t) => {
  try { return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() } catch { return '' }
})

describe('runtime', () => {
  it('runs requests on the core runtime only (no napi tokio runtime)', async () => {
    const client = new Client()
    await Promise.all(Array.from({ length: 20 }, () => client.get(lab.origins.a + '/echo')))
    const names = threadNames()
    assert.ok(names.some((n) => n.startsWith('hopsafe-rt')), names.join(','))
    assert.ok(!names.some((n) => n.startsWith('tokio-runtime')), names.join(','))
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
      await assert.rejects(pending, (e) => e instanceof Cancelled && e.cause?.message === 'user gave up')
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
    assert.equal(r.stdout.trim(), '200 Cancelled')
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

  it('refuses a stream above replayLimit and cancels it, never truncating', async () => {
    const [id, url] = await lab.script([{ status: 200 }])
    let cancelled = false
    let pulls = 0
    const stream = new ReadableStream({
      pull (c) { pulls++; c.enqueue(new Uint8Array(1000)) },
      cancel () { cancelled = true },
    })
    await assert.rejects(new Client({ replayLimit: 4096 }).post(url, { body: stream }),
      (e) => e instanceof BodyNotReplayable && e.code === 'HOPSAFE_BODY_NOT_REPLAYABLE' && /4096-byte/.test(e.message))
    assert.ok(cancelled)
    assert.ok(pulls <= 6)
    assert.equal((await lab.records(id)).length, 0, 'nothing was sent')
    // At the limit exactly it is sent whole.
    async function * exact () { yield Buffer.alloc(2048, 1); yield Buffer.alloc(2048, 2) }
    const [id2, url2] = await lab.script([{ status: 200 }])
    await new Client({ replayLimit: 4096 }).post(url2, { body: exact() })
    assert.equal((await lab.records(id2))[0].body_len, 4096)
  })
})
