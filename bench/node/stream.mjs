// Node streamed download: one client per process; throughput and peak RSS growth.
//   node stream.mjs BASE_URL CLIENT BYTES   ->  one JSON line
// CLIENT: hopsafe (Response.body), fetch (built-in, undici inside), undici-request (its body);
// hopsafe-byob, fetch-byob: the same bodies through a BYOB reader reusing one 64 KiB buffer
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const [base, name, size] = process.argv.slice(2)
const require = createRequire(import.meta.url)
const statusKib = (field) => Number(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))?.split(/\s+/)[1] ?? 0)

function client () {
  if (name.startsWith('hopsafe')) {
    const { Client } = require('../../bindings/node/index.js')
    const c = new Client()
    return async (url) => (await c.get(url)).body
  }
  if (name.startsWith('fetch')) return async (url) => (await fetch(url)).body
  if (name === 'undici-request') {
    const { request } = require('undici')
    return async (url) => (await request(url)).body
  }
  throw new Error(`unknown client ${name}`)
}

const open = client()
async function download (url) {
  let n = 0
  const body = await open(url)
  if (name.endsWith('-byob')) {
    const reader = body.getReader({ mode: 'byob' })
    let buf = new ArrayBuffer(65536)
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buf))
      if (done) break
      n += value.byteLength
      buf = value.buffer
    }
    return n
  }
  for await (const chunk of body) n += chunk.byteLength
  return n
}

await download(`${base}/stream/${1 << 20}`) // warm: the addon, the pool, the first connection
const rss = statusKib('VmRSS:')
writeFileSync('/proc/self/clear_refs', '5') // peak RSS (VmHWM) := current RSS
const t = performance.now()
const n = await download(`${base}/stream/${size}`)
const seconds = (performance.now() - t) / 1000
if (n !== Number(size)) throw new Error(`${name} read ${n} of ${size} bytes`)
console.log(JSON.stringify({ client: name, bytes: n, seconds, rss_kib: rss, peak_growth_kib: Math.max(0, statusKib('VmHWM:') - rss) }))
