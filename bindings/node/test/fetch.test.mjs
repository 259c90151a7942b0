// hopsafe.fetch: the WHATWG signature over the core, against the real test server.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'

import * as hopsafe from '../index.mjs'
import { header, startLab } from './lab.mjs'

let lab
let client
let fetch
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')
const release = async (id) => { await (await globalThis.fetch(`${lab.origins.a}/__scripts/${id}/release`, { method: 'POST' })).arrayBuffer() }

before(async () => {
  lab = await startLab()
  client = new hopsafe.Client({ ca: lab.ca, retry: { maxAttempts: 1 } })
  fetch = hopsafe.createFetch(client)
})
after(() => lab?.stop())

describe('hopsafe.fetch', () => {
  it('returns Node\'s own Response after a cross-origin 307, with hopsafe\'s facts beside it', async () => {
    const [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200, body: 'done' }])
    const res = await fetch(url, { method: 'POST', body: '{"order":1}', headers: { authorization: 'Bearer s3cret', 'content-type': 'application/json' } })
    assert.ok(res instanceof globalThis.Response)
    assert.equal(res.status, 200)
    assert.equal(res.redirected, true)
    assert.equal(res.url, `${lab.origins.b}/s/${id}/1`)
    assert.equal(await res.text(), 'done')
    assert.equal(res.bodyUsed, true)
    const info = res[hopsafe.hopsafeInfo]
    assert.equal(info, res[Symbol.for('hopsafe.info')])
    assert.ok(!Object.keys(res).includes('hopsafe.info'))
    assert.deepEqual(info.history.map((h) => h.status), [307])
    assert.equal(info.method, 'POST')
    const recs = await lab.records(id)
    assert.deepEqual(recs.map((r) => r.method), ['POST', 'POST'])
    assert.equal(header(recs[0], 'authorization'), 'Bearer s3cret')
    assert.equal(header(recs[1], 'authorization'), null)
    assert.ok(info.idempotencyKey)
    assert.ok(recs.every((r) => header(r, 'idempotency-key').includes(info.idempotencyKey)))
  })

  it('sends every fetch body type, replayed whole on a 307', async () => {
    const form = new FormData()
    form.append('sku', 'A-1')
    const bytes = new TextEncoder().encode('bytes-body')
    const cases = [
      ['string', () => 'text-body', 'text/plain;charset=UTF-8'],
      ['ArrayBuffer', () => bytes.buffer.slice(0), null],
      ['Uint8Array', () => bytes, null],
      ['DataView', () => new DataView(bytes.buffer), null],
      ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'x y' }), 'application/x-www-form-urlencoded;charset=UTF-8'],
      ['FormData', () => form, 'multipart/form-data; boundary='],
      ['Blob', () => new Blob(['blob-body'], { type: 'text/csv' }), 'text/csv'],
      ['ReadableStream', () => new Blob(['streamed-', 'body']).stream(), null],
    ]
    for (const [name, make, type] of cases) {
      const body = make()
      const expected = new Uint8Array(await new Request('http://x/', { method: 'POST', body: make(), duplex: 'half' }).arrayBuffer())
      const [id, url] = await lab.script([{ status: 307, location: '/s/{id}/1' }, { status: 200 }])
      const res = await fetch(url, { method: 'POST', body, duplex: 'half' })
      assert.equal(res.status, 200, name)
      await res.arrayBuffer()
      const recs = await lab.records(id)
      assert.equal(recs.length, 2, name)
      for (const r of recs) {
        assert.equal(r.body_len, expected.byteLength, name)
        if (name !== 'FormData') assert.equal(r.body_sha256, sha(expected), name)
        if (type) assert.ok(header(r, 'content-type').startsWith(type), `${name}: ${header(r, 'content-type')}`)
      }
    }
  })

  it('takes a Request, Headers, header arrays and URL input', async () => {
    const [id, url] = await lab.script([{ status: 200 }, { status: 200 }, { status: 200 }])
    await (await fetch(new Request(url, { method: 'PUT', body: 'r', headers: new Headers({ 'x-one': '1' }) }))).arrayBuffer()
    await (await fetch(new URL(url.replace(/0$/, '1')), { headers: [['x-two', '2'], ['x-two', '3']] })).arrayBuffer()
    await (await fetch(url.replace(/0$/, '2'), { method: 'delete', body: 'p' })).arrayBuffer()
    const recs = await lab.records(id)
    assert.equal(recs[0].method, 'PUT')
    assert.equal(header(recs[0], 'x-one'), '1')
    assert.deepEqual(recs[1].headers['x-two'].join(', ').split(', '), ['2', '3'])
    assert.equal(recs[2].method, 'DELETE')
  })

  it('maps redirect: manual returns the 3xx, error refuses the first redirect', async () => {
    let [id, url] = await lab.script([{ status: 307, location: '{b}/s/{id}/1' }, { status: 200 }])
    const res = await fetch(url, { method: 'POST', body: 'x', redirect: 'manual' })
    assert.equal(res.status, 307)
    assert.equal(res.redirected, false)
    assert.equal(res.headers.get('location'), `${lab.origins.b}/s/${id}/1`)
    await res.arrayBuffer()
    assert.equal((await lab.records(id)).length, 1);
    [id, url] = await lab.script([{ status: 308, location: '{b}/s/{id}/1' }, { status: 200 }])
    await assert.rejects(fetch(url, { method: 'POST', body: 'x', redirect: 'error' }), (e) =>
      e instanceof TypeError && e.message === 'fetch failed' && e.cause instanceof hopsafe.RedirectRejectedError)
    assert.equal((await lab.records(id)).length, 1)
  })

  it('rejects network failures with TypeError, the hopsafe error as cause', async () => {
    await assert.rejects(fetch('http://127.0.0.1:9/'), (e) =>
      e instanceof TypeError && e.message === 'fetch failed' && e.cause instanceof hopsafe.ConnectError && e.cause.code === 'HOPSAFE_CONNECT')
    await assert.rejects(fetch('ftp://example.com/'), (e) => e instanceof TypeError)
  })

  it('aborts like fetch: before the call, and mid-body', async () => {
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(fetch(`${lab.origins.a}/s/0/0`, { signal: ac.signal }), (e) => e.name === 'AbortError')
    const [id, url] = await lab.script([{ body_bytes: 300000, hold_after: 1000 }])
    const ac2 = new AbortController()
    const res = await fetch(url, { signal: ac2.signal })
    const reader = res.body.getReader()
    let got = 0
    while (got < 1000) got += (await reader.read()).value.byteLength
    ac2.abort()
    await assert.rejects(async () => { for (;;) if ((await reader.read()).done) break }, (e) => e.name === 'AbortError')
    await release(id)
  })

  it('streams the body; text() and friends honour maxBodySize, the stream is never capped', async () => {
    const capped = new hopsafe.Client({ ca: lab.ca, maxBodySize: 1000 })
    let [, url] = await lab.script([{ body_bytes: 5000 }])
    await assert.rejects(capped.fetch(url).then((r) => r.text()), (e) => e instanceof TypeError && e.cause instanceof hopsafe.ResponseTooLargeError);
    [, url] = await lab.script([{ body_bytes: 5000 }])
    let n = 0
    for await (const chunk of (await capped.fetch(url)).body) n += chunk.byteLength
    assert.equal(n, 5000);
    [, url] = await lab.script([{ body: '{"a":[1,2]}', headers: { 'content-type': 'application/json' } }])
    const res = await capped.fetch(url)
    assert.deepEqual(await res.json(), { a: [1, 2] })
    await assert.rejects(res.text(), TypeError)
  })

  it('gives HEAD and 204 a null body', async () => {
    const [, url] = await lab.script([{ status: 200, body: 'hidden' }, { status: 204 }])
    assert.equal((await fetch(url, { method: 'HEAD' })).body, null)
    assert.equal((await fetch(url.replace(/0$/, '1'))).body, null)
  })

  it('passes init.hopsafe options: an explicit key, no key', async () => {
    const [id, url] = await lab.script([{ status: 200 }, { status: 200 }])
    const res = await fetch(url, { method: 'POST', body: 'x', hopsafe: { idempotencyKey: 'order-7' } })
    assert.equal(res[hopsafe.hopsafeInfo].idempotencyKey, 'order-7')
    await (await fetch(url.replace(/0$/, '1'), { method: 'POST', body: 'x', hopsafe: { idempotencyKey: false } })).arrayBuffer()
    const recs = await lab.records(id)
    assert.ok(header(recs[0], 'idempotency-key').includes('order-7'))
    assert.equal(header(recs[1], 'idempotency-key'), null)
  })

  it('has a shared default client and client.fetch', async () => {
    const [, url] = await lab.script([{ status: 200, body: 'hi' }, { status: 200, body: 'again' }])
    assert.equal(await (await hopsafe.fetch(url)).text(), 'hi')
    assert.equal(await (await client.fetch(url.replace(/0$/, '1'))).text(), 'again')
    assert.throws(() => hopsafe.createFetch({}), TypeError)
  })
})
