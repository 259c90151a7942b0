// new Client({ redirectHook }): asked before every hop, sync or async.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import * as hopsafe from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
before(async () => { lab = await startLab() })
after(() => lab?.stop())

const client = (redirectHook) => new hopsafe.Client({ ca: lab.ca, redirectHook, retry: { maxAttempts: 1 } })

describe('redirect hook', () => {
  it('is shown each hop, a 302 from a POST with nextMethod GET', async () => {
    const seen = []
    const [id, url] = await lab.script([{ status: 302, location: '/s/{id}/1' }, { status: 307, location: '{b}/s/{id}/2' }, { status: 200 }])
    const r = await client((hop) => { seen.push(hop) }).post(url, { body: 'x' })
    assert.equal(r.status, 200)
    assert.deepEqual(seen, [
      { status: 302, from: url, to: `${lab.origins.a}/s/${id}/1`, method: 'POST', nextMethod: 'GET', hops: 0 },
      { status: 307, from: `${lab.origins.a}/s/${id}/1`, to: `${lab.origins.b}/s/${id}/2`, method: 'GET', nextMethod: 'GET', hops: 1 },
    ])
    assert.ok(Object.isFrozen(seen[0]))
  })

  it('stops: the 3xx is returned and the other origin never contacted', async () => {
    for (const stop of ['stop', false]) {
      const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
      const r = await client((hop) => (new URL(hop.to).origin !== new URL(hop.from).origin ? stop : 'follow')).post(url, { body: 'x' })
      assert.equal(r.status, 307)
      assert.equal((await lab.records(id)).length, 1)
    }
  })

  it('refuses by throwing: RedirectRejectedError with the reason, nothing sent there', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
    await assert.rejects(client(() => { throw new Error('region b is retired') }).post(url, { body: 'x' }), (e) =>
      e instanceof hopsafe.RedirectRejectedError && /region b is retired/.test(e.message))
    assert.equal((await lab.records(id)).length, 1)
  })

  it('may be async: its promise decides', async () => {
    let [id, url] = await lab.script([{ status: 308, location: '/s/{id}/1' }, { status: 200 }])
    const later = () => new Promise((resolve) => setImmediate(resolve))
    let r = await client(async () => { await later(); return 'follow' }).put(url, { body: 'x' })
    assert.equal(r.status, 200);
    [id, url] = await lab.script([{ status: 308, location: '/s/{id}/1' }, { status: 200 }])
    r = await client(async () => { await later(); return 'stop' }).put(url, { body: 'x' })
    assert.equal(r.status, 308);
    [id, url] = await lab.script([{ status: 308, location: '/s/{id}/1' }, { status: 200 }])
    await assert.rejects(client(async () => { await later(); throw new Error('not now') }).put(url, { body: 'x' }), hopsafe.RedirectRejectedError)
    assert.equal((await lab.records(id)).length, 1)
  })

  it('an unknown answer refuses the hop; a hook that is not a function is a TypeError', async () => {
    const [, url] = await lab.script([{ status: 307, location: '/s/{id}/1' }, { status: 200 }])
    await assert.rejects(client(() => 'maybe').post(url, { body: 'x' }), (e) => e instanceof hopsafe.RedirectRejectedError && /maybe/.test(e.message))
    assert.throws(() => new hopsafe.Client({ redirectHook: 'follow' }), TypeError)
  })

  it('serves many concurrent calls', async () => {
    const calls = await Promise.all(Array.from({ length: 32 }, async () => {
      const [, url] = await lab.script([{ status: 307, location: '/s/{id}/1' }, { status: 200 }])
      return url
    }))
    let asked = 0
    const c = client(async () => { asked++ })
    const statuses = await Promise.all(calls.map(async (u) => (await c.post(u, { body: 'x' })).status))
    assert.deepEqual(new Set(statuses), new Set([200]))
    assert.equal(asked, 32)
  })
})
