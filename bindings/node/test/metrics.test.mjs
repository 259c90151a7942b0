// Client.metrics(): the core's counters, checked against what the test server saw.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import * as hopsafe from '../index.mjs'
import { header, startLab } from './lab.mjs'

let lab
const fast = { baseDelayMs: 1, maxDelayMs: 5 }
const originOf = (url) => {
  const u = new URL(url)
  return `${u.protocol}//${u.hostname}:${u.port}`
}

before(async () => { lab = await startLab() })
after(() => lab?.stop())

describe('metrics', () => {
  it('counts a cross-origin 307 pair, the stripped credential and the pair\'s age', async () => {
    const client = new hopsafe.Client({ ca: lab.ca, retry: fast })
    const chain = () => lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
    const [id, url] = await chain()
    const r = await client.get(url, { headers: { authorization: 'Bearer secret' } })
    assert.equal(r.status, 200)
    assert.equal(header((await lab.records(id))[1], 'authorization'), null)
    const m = client.metrics()
    assert.equal(m.redirects.length, 1)
    const [pair] = m.redirects
    assert.deepEqual([pair.status, pair.from, pair.to, pair.count], [307, originOf(lab.origins.a), originOf(lab.origins.b), 1])
    assert.deepEqual(m.headersStripped, [{ name: 'authorization', reason: 'cross-origin', count: 1 }])
    assert.deepEqual(m.retries, [])
    assert.equal(m.writesDeliveredTwice, 0)
    assert.ok(!JSON.stringify(m).includes('secret'))

    await sleep(20)
    await client.get((await chain())[1], { headers: { authorization: 'Bearer secret' } })
    const [again] = client.metrics().redirects
    assert.equal(again.count, 2)
    assert.equal(again.firstSeenMs, pair.firstSeenMs)
    assert.ok(again.lastSeenMs >= pair.lastSeenMs + 20, JSON.stringify(again))
    assert.ok(again.ageMs >= 20, JSON.stringify(again))
  })

  it('counts retries by reason and a keyed write re-sent after a reset', async () => {
    const client = new hopsafe.Client({ ca: lab.ca, retry: fast })
    const [, busy] = await lab.script([{ status: 200, faults: ['status_503'] }])
    assert.equal((await client.get(busy)).status, 200)
    const [id, reset] = await lab.script([{ status: 200, apply: true, faults: ['reset_after_read'] }])
    const r = await client.post(reset, { body: 'charge', idempotencyKey: 'order-7' })
    assert.equal(r.attempts, 2)
    assert.equal((await lab.writes(id)).deliveries, 2)
    const m = client.metrics()
    assert.deepEqual(m.retries, [{ reason: 'after_send', count: 1 }, { reason: 'status_503', count: 1 }])
    assert.equal(m.writesResentWithKey, 1)
    assert.equal(m.writesDeliveredTwice, 0)
    assert.equal(m.redirectPairsOverflow, 0)
  })
})
