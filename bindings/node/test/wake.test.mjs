// Calls that end while the JS thread is busy are queued and settled together, in one drain of
// the shared wake-up (src/wake.rs): every one must settle, with its own outcome.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { CancelledError, Client } from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
before(async () => { lab = await startLab() })
after(() => lab?.stop())

/** Keeps the JS thread busy, so calls that end meanwhile queue up for one drain. */
const busy = (ms) => { const end = Date.now() + ms; while (Date.now() < end) { /* spin */ } }

describe('shared wake-up', () => {
  it('settles many calls that ended in one turn, each with its own response and body', async () => {
    const client = new Client()
    const pending = Array.from({ length: 200 }, (_, i) => client.get(`${lab.origins.a}/echo?i=${i}`).then(async (r) => (await r.json()).query))
    busy(500)
    assert.deepEqual(await Promise.all(pending), Array.from({ length: 200 }, (_, i) => `i=${i}`))
  })

  it('settles calls cancelled while finished ones wait for the drain, and then lets the process exit', () => {
    const index = fileURLToPath(new URL('../index.js', import.meta.url))
    // Fast calls end (queued) while the JS thread spins; the slow ones are cancelled then.
    const script = `
      const { Client } = require(${JSON.stringify(index)})
      const c = new Client()
      const ac = new AbortController()
      const fast = Array.from({ length: 30 }, () => c.get(process.argv[1] + '/echo').then((r) => r.status))
      const slow = Array.from({ length: 30 }, () => c.get(process.argv[1] + '/fault/delay_ms:5000', { signal: ac.signal }).then(() => 'done', (e) => e.name))
      const end = Date.now() + 400
      while (Date.now() < end) {}
      ac.abort()
      Promise.all([...fast, ...slow]).then((all) => console.log(JSON.stringify(all)))`
    const r = spawnSync(process.execPath, ['-e', script, lab.origins.a], { encoding: 'utf8', timeout: 4_000 })
    assert.equal(r.error, undefined, 'the child hung or did not exit by itself')
    assert.equal(r.status, 0, r.stderr)
    const all = JSON.parse(r.stdout)
    assert.deepEqual(all.slice(0, 30), Array(30).fill(200))
    assert.deepEqual(all.slice(30), Array(30).fill(CancelledError.name))
  })
})
