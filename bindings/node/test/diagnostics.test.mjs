// The core's tracing data on diagnostics_channel: hopsafe:request, hopsafe:hop, hopsafe:retry.
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, before, describe, it } from 'node:test'

import * as hopsafe from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
before(async () => { lab = await startLab() })
after(() => lab?.stop())

/** Collects a channel's messages; `until(pred)` resolves once one matches (no timer). */
function collect (name) {
  const got = []
  let waiting = []
  const fn = (m) => {
    got.push(m)
    waiting = waiting.filter(([pred, resolve]) => !(pred(m) && (resolve(m), true)))
  }
  diagnostics.subscribe(name, fn)
  return {
    got,
    until: (pred) => {
      const found = got.find(pred)
      return found ? Promise.resolve(found) : new Promise((resolve) => waiting.push([pred, resolve]))
    },
    stop: () => diagnostics.unsubscribe(name, fn),
  }
}

describe('diagnostics_channel', () => {
  it('publishes the request and each hop, never a credential, path or query', async () => {
    const requests = collect('hopsafe:request')
    const hops = collect('hopsafe:hop')
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1?token=q5ecret' }, { status: 200 }])
    const r = await new hopsafe.Client({ ca: lab.ca }).post(url + '?key=p4ss', { body: 'x', headers: { authorization: 'Bearer s3cret', cookie: 'sid=c00kie' } })
    assert.equal(r.status, 200)
    const hop = await hops.until((m) => m.from === lab.origins.a && m.to === lab.origins.b)
    assert.equal(hop.status, 307)
    assert.equal(hop.method, 'POST')
    assert.equal(hop.next_method, 'POST')
    assert.ok(hop.dropped.some((d) => d.name === 'authorization' && d.reason), JSON.stringify(hop))
    assert.ok(hop.dropped.some((d) => d.name === 'cookie'))
    const req = await requests.until((m) => m.origin === lab.origins.a && m.method === 'POST')
    assert.deepEqual(Object.keys(req).sort(), ['method', 'origin'])
    const text = JSON.stringify([...requests.got, ...hops.got])
    for (const secret of ['s3cret', 'c00kie', 'p4ss', 'q5ecret', `/s/${id}`]) assert.ok(!text.includes(secret), secret)
    requests.stop()
    hops.stop()
  })

  it('publishes each retry', async () => {
    const retries = collect('hopsafe:retry')
    const [, url] = await lab.script([{ status: 200, faults: ['status_503'], retry_after: '0' }])
    const r = await new hopsafe.Client({ ca: lab.ca, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }).get(url)
    assert.equal(r.status, 200)
    const m = await retries.until((x) => x.origin === lab.origins.a)
    assert.equal(m.attempt, 1)
    assert.equal(typeof m.wait_ms, 'number')
    assert.match(m.failure, /503/)
    retries.stop()
  })
})
