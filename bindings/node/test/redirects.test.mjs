// The redirect, credential and idempotency rules through the JS API.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'

import * as hopsafe from '../index.mjs'
import { header, startLab } from './lab.mjs'

const BODY = '{"order":"A-1"}'
const SHA = createHash('sha256').update(BODY).digest('hex')
let lab
let client
const fast = { baseDelayMs: 1, maxDelayMs: 5 }

before(async () => {
  lab = await startLab()
  client = new hopsafe.Client({ ca: lab.ca, retry: fast })
})
after(() => lab?.stop())

describe('redirect rules', () => {
  for (const status of [307, 308]) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      it(`${status} keeps ${method}, body and headers`, async () => {
        const [id, url] = await lab.script([{ status, location: '{b}/s/{id}/1' }, { status: 200 }])
        const r = await client.request({ method, url, body: BODY, headers: { 'content-type': 'application/json' } })
        assert.equal(r.status, 200)
        assert.equal(r.method, method)
        const recs = await lab.records(id)
        assert.deepEqual(recs.map((x) => x.method), [method, method])
        assert.ok(recs.every((x) => x.body_sha256 === SHA))
        assert.equal(header(recs[1], 'content-type'), 'application/json')
      })
    }
  }
  for (const [status, from, to] of [[301, 'POST', 'GET'], [302, 'POST', 'GET'], [302, 'PUT', 'PUT'], [303, 'POST', 'GET'], [303, 'DELETE', 'GET'], [303, 'HEAD', 'HEAD']]) {
    it(`${status} turns ${from} into ${to}`, async () => {
      const [id, url] = await lab.script([{ status, location: '/s/{id}/1' }, { status: 200 }])
      const r = await client.request({ method: from, url, body: from === 'HEAD' ? undefined : BODY, headers: { 'content-type': 'text/plain' } })
      assert.equal(r.method, to)
      const last = (await lab.records(id))[1]
      assert.equal(last.method, to)
      if (from !== to) {
        assert.equal(last.body_len, 0)
        assert.equal(header(last, 'content-type'), null)
        assert.ok(r.history[0].dropped.some((d) => d.name === 'content-type' && d.reason === 'method-changed'))
      }
    })
  }
  it('returns 300/304 and 3xx without Location', async () => {
    for (const status of [300, 304]) {
      const [id, url] = await lab.script([{ status, location: '/s/{id}/1' }, { status: 200 }])
      assert.equal((await client.post(url, { body: BODY })).status, status)
      assert.equal((await lab.records(id)).length, 1)
    }
  })
  it('bounds chains, detects loops, refuses downgrades and bad schemes', async () => {
    const steps = [1, 2, 3].map((i) => ({ status: 307, location: `/s/{id}/${i}` })).concat([{ status: 200 }])
    let [, url] = await lab.script(steps)
    await assert.rejects(new hopsafe.Client({ ca: lab.ca, maxRedirects: 2 }).post(url, { body: BODY }), (e) => e instanceof hopsafe.TooManyRedirectsError && e.history.length === 3 && e.code === 'HOPSAFE_TOO_MANY_REDIRECTS')
    ;[, url] = await lab.script(steps)
    assert.equal((await client.post(url, { body: BODY, maxRedirects: 0 })).status, 307)
    ;[, url] = await lab.script(steps)
    assert.equal((await client.post(url, { body: BODY, followRedirects: false })).status, 307)
    ;[, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 307, location: '{a}/s/{id}/0' }])
    await assert.rejects(client.post(url, { body: BODY }), hopsafe.RedirectLoopError)
    ;[, url] = await lab.script([{ status: 307, location: '{a}/s/{id}/1' }], 'tls')
    await assert.rejects(client.post(url, { body: BODY }), (e) => e instanceof hopsafe.InsecureRedirectError && e instanceof hopsafe.HopsafeError && e instanceof Error)
    ;[, url] = await lab.script([{ status: 302, location: 'file:///etc/passwd' }])
    await assert.rejects(client.get(url), hopsafe.UnsupportedSchemeError)
  })
})

describe('credentials', () => {
  for (const target of ['b', 'a2', 'a_name', 'tls']) {
    it(`are stripped going to ${target}`, async () => {
      const [id, url] = await lab.script([{ status: 307, location: `{${target}}/s/{id}/1` }, { status: 200 }])
      const creds = { Authorization: 'Bearer s', cookie: 'a=1', 'Proxy-Authorization': 'Basic x', 'X-Api-Key': 'k' }
      const c = new hopsafe.Client({ ca: lab.ca, sensitiveHeaders: ['x-api-key'] })
      const r = await c.post(url, { body: BODY, headers: creds })
      const [first, second] = await lab.records(id)
      for (const name of Object.keys(creds)) {
        assert.notEqual(header(first, name), null)
        assert.equal(header(second, name), null, name)
      }
      assert.ok(r.history[0].dropped.some((d) => d.name === 'authorization' && d.reason === 'cross-origin'))
    })
  }
  it('stay stripped for the rest of the chain (A->B->A, A->B->B)', async () => {
    for (const back of ['a', 'b']) {
      const [id, url] = await lab.script([{ status: 302, location: '{b}/s/{id}/1' }, { status: 302, location: `{${back}}/s/{id}/2` }, { status: 200 }])
      await client.get(url, { headers: [['authorization', 'Bearer s']] })
      const recs = await lab.records(id)
      assert.equal(header(recs[2], 'authorization'), null)
    }
  })
  it('are kept same-origin and for trusted origins', async () => {
    let [id, url] = await lab.script([{ status: 307, location: '/s/{id}/1' }, { status: 200 }])
    await client.post(url, { body: BODY, headers: { Authorization: 'Bearer s' } })
    assert.equal(header((await lab.records(id))[1], 'authorization'), 'Bearer s')
    ;[id, url] = await lab.script([{ status: 307, location: '{tls_b}/s/{id}/1' }, { status: 200 }], 'tls')
    await new hopsafe.Client({ ca: lab.ca, trustedOrigins: [lab.origins.tls_b] }).post(url, { body: BODY, headers: { Authorization: 'Bearer s' } })
    assert.equal(header((await lab.records(id))[1], 'authorization'), 'Bearer s')
  })
})

describe('idempotency and retries', () => {
  it('keeps one key across a cross-origin 307 and drops it on 303', async () => {
    let [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, apply: true }])
    const r = await client.post(url, { json: { a: 1 } })
    assert.ok(r.idempotencyKey)
    assert.ok((await lab.records(id)).every((x) => x.idempotency_key === `"${r.idempotencyKey}"`))
    ;[id, url] = await lab.script([{ status: 303, location: '/s/{id}/1' }, { status: 200 }])
    const r2 = await client.post(url, { body: BODY })
    assert.equal((await lab.records(id))[1].idempotency_key, null)
    assert.equal(r2.idempotencyKey, null)
    ;[id, url] = await lab.script([{ status: 200 }])
    await client.put(url, { body: BODY, idempotencyKey: 'order-42' })
    assert.equal((await lab.records(id))[0].idempotency_key, '"order-42"')
    ;[id, url] = await lab.script([{ status: 200 }])
    await client.post(url, { body: BODY, idempotencyKey: false })
    assert.equal((await lab.records(id))[0].idempotency_key, null)
  })
  it('retries a write after a reset only when its key is honoured, and it is applied once', async () => {
    const failover = () => lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, apply: true, faults: ['reset_after_read'] }])
    let [id, url] = await failover()
    await assert.rejects(client.post(url, { body: BODY }), hopsafe.TransportError, 'a generated key alone')
    assert.equal((await lab.writes(id)).deliveries, 1)
    const declared = new hopsafe.Client({ ca: lab.ca, keyHonoringOrigins: [lab.origins.b] })
    for (const send of [(u) => declared.post(u, { body: BODY }), (u) => client.post(u, { body: BODY, idempotencyKey: 'order-7' })]) {
      ;[id, url] = await failover()
      const r = await send(url)
      assert.equal(r.attempts, 2)
      const w = await lab.writes(id)
      assert.equal(w.deliveries, 2)
      assert.equal(w.applications, 1)
    }
    ;[id, url] = await lab.script([{ status: 200, apply: true, faults: ['reset_after_read'] }])
    await assert.rejects(client.post(url, { body: BODY, idempotencyKey: false }), hopsafe.TransportError)
    assert.equal((await lab.writes(id)).deliveries, 1)
  })
})

describe('bodies, concurrency, abort, bad input', () => {
  it('replays a Buffer body on 307 and leaves the caller\'s buffer usable', async () => {
    const buf = Buffer.from(BODY)
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
    const r = await client.post(url, { body: buf })
    assert.equal(r.status, 200)
    assert.equal(buf.toString(), BODY, 'not detached')
    assert.ok((await lab.records(id)).every((x) => x.body_sha256 === SHA))
    async function * gen () { yield 'abc'; yield Buffer.from('def') }
    const [id2, url2] = await lab.script([{ status: 308, location: '/s/{id}/1' }, { status: 200 }])
    await client.put(url2, { body: gen() })
    assert.ok((await lab.records(id2)).every((x) => x.body_len === 6))
  })
  it('sends and replays the bytes a body held when the call was made', async () => {
    // The addon copies the body before `request` returns: changing the caller's Buffer or
    // Uint8Array view afterwards changes neither hop.
    for (const make of [() => Buffer.from(BODY), () => new Uint8Array(Buffer.from('..' + BODY)).subarray(2)]) {
      const buf = make()
      const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
      const pending = client.post(url, { body: buf })
      buf.fill(0x21)
      assert.equal((await pending).status, 200)
      const recs = await lab.records(id)
      assert.equal(recs.length, 2)
      assert.ok(recs.every((x) => x.body_sha256 === SHA))
    }
  })
  it('runs 300 requests in flight from one client', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, apply: true }])
    const rs = await Promise.all(Array.from({ length: 300 }, (_, i) => client.post(url, { body: `order-${i}` })))
    assert.ok(rs.every((r) => r.status === 200 && r.method === 'POST'))
    assert.equal((await lab.writes(id)).applications, 300)
  })
  it('aborts with an AbortSignal', async () => {
    const [, url] = await lab.script([{ status: 200, faults: ['delay_ms:5000'] }])
    const ac = new AbortController()
    const started = Date.now()
    setTimeout(() => ac.abort(), 150)
    await assert.rejects(client.get(url, { signal: ac.signal }), (e) => e instanceof hopsafe.CancelledError && e.code === 'HOPSAFE_CANCELLED')
    assert.ok(Date.now() - started < 2000)
    await assert.rejects(client.get(url, { signal: AbortSignal.abort() }), hopsafe.CancelledError)
  })
  it('gives clear errors for bad input', async () => {
    await assert.rejects(client.get('not a url'), hopsafe.InvalidUrlError)
    await assert.rejects(client.get('ftp://x/'), hopsafe.UnsupportedSchemeError)
    await assert.rejects(client.get(lab.origins.a + '/echo', { headers: { x: 'a\r\nb: c' } }), hopsafe.InvalidHeaderError)
    await assert.rejects(client.request({ method: 'GE T', url: lab.origins.a + '/echo' }), hopsafe.InvalidMethodError)
    await assert.rejects(client.get(42), TypeError)
    await assert.rejects(client.post(lab.origins.a + '/echo', { body: 3.5 }), TypeError)
    await assert.rejects(client.get(lab.origins.a + '/echo', { headers: { x: 1 } }), TypeError)
    await assert.rejects(client.get('http://127.0.0.1:9/'), hopsafe.ConnectError)
    assert.throws(() => new hopsafe.Client({ trustedOrigins: ['http://plain.example'] }), hopsafe.InvalidConfigError)
    assert.throws(() => new hopsafe.Client({ idempotencyKeyFormat: 'weird' }), hopsafe.InvalidConfigError)
    assert.throws(() => new hopsafe.Client({ timeoutMs: -1 }), TypeError)
  })
  it('groups errors as the core does, each named *Error', async () => {
    const is = (Leaf, Group, name) => (e) => e instanceof Leaf && e instanceof Group && e instanceof hopsafe.HopsafeError && e.name === name
    await assert.rejects(client.get('not a url'), is(hopsafe.InvalidUrlError, hopsafe.InvalidInputError, 'InvalidUrlError'))
    await assert.rejects(client.get('http://127.0.0.1:9/'), is(hopsafe.ConnectError, hopsafe.NetworkError, 'ConnectError'))
    const [, slow] = await lab.script([{ status: 200, faults: ['delay_ms:5000'] }])
    await assert.rejects(client.get(slow, { timeoutMs: 200 }), (e) => is(hopsafe.TimeoutError, hopsafe.NetworkError, 'TimeoutError')(e) && e.phase === 'total' && e.code === 'HOPSAFE_TIMEOUT')
    const [, loop] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 307, location: '{a}/s/{id}/0' }])
    await assert.rejects(client.post(loop, { body: BODY }), is(hopsafe.RedirectLoopError, hopsafe.RedirectError, 'RedirectLoopError'))
    assert.ok(!(new hopsafe.CancelledError('x') instanceof hopsafe.NetworkError))
  })
  it('says whether a write was accepted before the error', async () => {
    const [, seeOther] = await lab.script([{ status: 303, location: 'ftp://127.0.0.1/gone' }])
    await assert.rejects(client.post(seeOther, { body: BODY }), (e) => e instanceof hopsafe.UnsupportedSchemeError && e.writeAccepted === true && e.history.length === 1)
    const [, temporary] = await lab.script([{ status: 307, location: 'ftp://127.0.0.1/gone' }])
    await assert.rejects(client.post(temporary, { body: BODY }), (e) => e instanceof hopsafe.UnsupportedSchemeError && e.writeAccepted === false && e.history.length === 1)
  })
  it('validates keyHonoringOrigins', () => {
    assert.ok(new hopsafe.Client({ keyHonoringOrigins: [lab.origins.a, 'https://*.example.com'] }))
    assert.throws(() => new hopsafe.Client({ keyHonoringOrigins: ['ftp://files.example.com'] }), hopsafe.InvalidConfigError)
  })
  it('exposes Headers and a module-level request', async () => {
    const r = await hopsafe.request({ url: lab.origins.a + '/echo', headers: { 'X-A': 'b' } })
    assert.equal(r.headers.get('Content-Type'), r.headers.get('content-type'))
    assert.equal((await r.json()).headers['x-a'][0], 'b')
    assert.ok(r.ok)
  })
})

describe('load', () => {
  it('10,000 keyed POSTs through a cross-origin 307 with 256 in flight: exact', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, apply: true }])
    let next = 0
    let wrong = 0
    await Promise.all(Array.from({ length: 256 }, async () => {
      while (next < 10_000) {
        const i = next++
        const r = await client.post(url, { body: `order-${i}` })
        if (r.status !== 200 || r.method !== 'POST' || (await r.json()).body !== `order-${i}`) wrong++
      }
    }))
    assert.equal(wrong, 0)
    const w = await lab.writes(id)
    assert.equal(w.applications, 10_000)
    assert.ok(Object.values(w.keys).every((n) => n === 1))
  })
})
