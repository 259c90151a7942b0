// Streamed responses on real sockets: Response.body as a pull-based ReadableStream, the
// buffered readers, an SSE-style body delivered event by event, cancellation that aborts the
// transfer, and maxBodySize on buffered reads only.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'

import * as hopsafe from '../index.mjs'
import { startLab } from './lab.mjs'

let lab
let client
const fast = { baseDelayMs: 1, maxDelayMs: 5 }

before(async () => {
  lab = await startLab()
  client = new hopsafe.Client({ ca: lab.ca, retry: fast })
})
after(() => lab?.stop())

/** The test server's numbered lines (`body_bytes`): line i is i as 15 digits and \n. */
function pattern (n) {
  const lines = []
  for (let i = 0; i * 16 < n; i++) lines.push(String(i).padStart(15, '0') + '\n')
  return Buffer.from(lines.join('')).subarray(0, n)
}

const release = async (id) => {
  const r = await fetch(`${lab.origins.a}/__scripts/${id}/release`, { method: 'POST' })
  assert.equal(r.status, 200)
  await r.arrayBuffer()
}

/** A node:http server writing an endless body; `closed` resolves when the client leaves. */
async function endless () {
  let onClose
  const closed = new Promise((resolve) => { onClose = resolve })
  const chunk = Buffer.alloc(65536, 'x')
  const server = createServer((req, res) => {
    res.on('close', onClose)
    res.writeHead(200)
    const write = () => { while (!res.destroyed && res.write(chunk)); }
    res.on('drain', write)
    write()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/`, closed, stop: () => server.close() }
}

describe('streamed responses', () => {
  it('resolves at headers and streams a large body chunk by chunk', async () => {
    const size = 48 << 20
    const [, url] = await lab.script([{ body_bytes: size }])
    const r = await client.get(url)
    assert.equal(r.status, 200)
    assert.equal(r.bodyUsed, false)
    const hash = createHash('sha256')
    let len = 0
    let largest = 0
    for await (const chunk of r.body) {
      assert.ok(chunk instanceof Uint8Array)
      hash.update(chunk)
      len += chunk.byteLength
      largest = Math.max(largest, chunk.byteLength)
    }
    assert.equal(len, size)
    assert.ok(largest <= 1 << 20, `a chunk of ${largest} bytes`)
    assert.equal(r.bodyUsed, true)
    assert.equal(hash.digest('hex'), createHash('sha256').update(pattern(size)).digest('hex'))
  })

  it('text(), json(), arrayBuffer() and bytes() read the body once', async () => {
    const [, url] = await lab.script([{ body: '{"a":1}' }, { body: 'x' }])
    const r = await client.get(url)
    assert.deepEqual(await r.json(), { a: 1 })
    assert.equal(r.bodyUsed, true)
    await assert.rejects(r.text(), TypeError)
    const [, u2] = await lab.script([{ body: 'hello' }])
    assert.equal(Buffer.from(await (await client.get(u2)).arrayBuffer()).toString(), 'hello')
    const [, u3] = await lab.script([{ body: 'hello' }])
    const b = await (await client.get(u3)).bytes()
    assert.ok(b instanceof Uint8Array)
    assert.equal(Buffer.from(b).toString(), 'hello')
  })

  it('delivers an SSE event before the server sends the next', async () => {
    const first = 'event: tick\ndata: 1\n\n'
    // The server holds what follows the first event until the client, having received it,
    // releases it: a client that waited for more would end with a cut body.
    const [id, url] = await lab.script([{ body: first + 'event: tick\ndata: 2\n\n', hold_after: first.length, headers: { 'content-type': 'text/event-stream' } }])
    const r = await client.get(url)
    const events = []
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of r.body) {
      text += decoder.decode(chunk, { stream: true })
      let end
      while ((end = text.indexOf('\n\n')) >= 0) {
        events.push(text.slice(0, end))
        text = text.slice(end + 2)
        if (events.length === 1) await release(id)
      }
    }
    assert.deepEqual(events, ['event: tick\ndata: 1', 'event: tick\ndata: 2'])
  })

  it('pulls only when read: a held body hands over what was sent', async () => {
    const [id, url] = await lab.script([{ body_bytes: 300000, hold_after: 1000 }])
    const r = await client.get(url)
    const reader = r.body.getReader()
    let got = 0
    while (got < 1000) got += (await reader.read()).value.byteLength
    assert.equal(got, 1000)
    await release(id)
    for (let c = await reader.read(); !c.done; c = await reader.read()) got += c.value.byteLength
    assert.equal(got, 300000)
  })

  it('a BYOB reader receives the body in its own buffer, chunks split to fit', async () => {
    const size = 300000
    const [, url] = await lab.script([{ body_bytes: size }])
    const reader = (await client.get(url)).body.getReader({ mode: 'byob' })
    const hash = createHash('sha256')
    let buf = new ArrayBuffer(1000)
    let len = 0
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buf))
      if (done) break
      assert.ok(value.byteLength > 0 && value.byteLength <= 1000)
      hash.update(value)
      len += value.byteLength
      buf = value.buffer // the same memory, handed back
    }
    assert.equal(len, size)
    assert.equal(hash.digest('hex'), createHash('sha256').update(pattern(size)).digest('hex'))
  })

  it('a default reader after a BYOB read gets the rest of the chunk first', async () => {
    const size = 300000
    const [, url] = await lab.script([{ body_bytes: size }])
    const body = (await client.get(url)).body
    const byob = body.getReader({ mode: 'byob' })
    const first = (await byob.read(new Uint8Array(1000))).value
    byob.releaseLock()
    const parts = [Buffer.from(first)]
    for await (const chunk of body) parts.push(Buffer.from(chunk))
    assert.ok(Buffer.concat(parts).equals(pattern(size)))
  })

  it('the AbortSignal fails the next BYOB read, though part of a chunk is left', async () => {
    const s = await endless()
    try {
      const ac = new AbortController()
      const r = await new hopsafe.Client().get(s.url, { signal: ac.signal })
      const reader = r.body.getReader({ mode: 'byob' })
      assert.equal((await reader.read(new Uint8Array(10))).value.byteLength, 10)
      ac.abort(new Error('enough'))
      await assert.rejects(reader.read(new Uint8Array(10)), (e) => e instanceof hopsafe.CancelledError && e.cause?.message === 'enough')
      await s.closed
    } finally { s.stop() }
  })

  it('breaking out of the loop aborts the transfer', async () => {
    const s = await endless()
    try {
      const r = await new hopsafe.Client().get(s.url)
      for await (const chunk of r.body) {
        assert.ok(chunk.byteLength > 0)
        break
      }
      await s.closed // the endless body would keep the server writing forever
    } finally { s.stop() }
  })

  it('body.cancel() aborts the transfer', async () => {
    const s = await endless()
    try {
      const r = await new hopsafe.Client().get(s.url)
      const reader = r.body.getReader()
      await reader.read()
      await reader.cancel()
      await s.closed
    } finally { s.stop() }
  })

  it('the AbortSignal aborts the body too', async () => {
    const s = await endless()
    try {
      const ac = new AbortController()
      const r = await new hopsafe.Client().get(s.url, { signal: ac.signal })
      const reader = r.body.getReader()
      await reader.read()
      ac.abort(new Error('enough'))
      await assert.rejects(async () => { for (;;) if ((await reader.read()).done) break }, (e) => e instanceof hopsafe.CancelledError && e.cause?.message === 'enough')
      await s.closed
    } finally { s.stop() }
  })

  it('maxBodySize caps the buffered readers, not the stream', async () => {
    const size = 200000
    const capped = new hopsafe.Client({ ca: lab.ca, retry: fast, maxBodySize: 100000 })
    const [, url] = await lab.script([{ body_bytes: size }])
    await assert.rejects((await capped.get(url)).text(), (e) => e instanceof hopsafe.ResponseTooLargeError && /100000.*stream/.test(e.message) && e.url === url)
    await assert.rejects((await capped.get(url)).arrayBuffer(), hopsafe.ResponseTooLargeError)
    let len = 0
    for await (const chunk of (await capped.get(url)).body) len += chunk.byteLength
    assert.equal(len, size)
    assert.equal((await (await client.get(url)).bytes()).byteLength, size) // no limit by default
  })

  it('an error mid-body errors the stream with a typed error', async () => {
    const [, url] = await lab.script([{ body_bytes: 1 << 20, faults: ['reset_mid_body'] }])
    await assert.rejects(async () => {
      const r = await client.get(url)
      for await (const chunk of r.body) assert.ok(chunk)
    }, hopsafe.TransportError)
  })
})
