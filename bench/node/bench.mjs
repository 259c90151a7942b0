// Node benchmark: one client per process, same loopback server.
//   node bench.mjs BASE_URL CLIENT [--quick]   ->  one JSON line
// CLIENT: hopsafe, hopsafe-fetch (hopsafe.fetch, the adapter), fetch, undici-request, axios
import { createRequire } from 'node:module'

const [base, name] = process.argv.slice(2)
const quick = process.argv.includes('--quick')
const N = quick ? 1000 : 5000
const KIB = Buffer.alloc(1024, 'x')
const require = createRequire(import.meta.url)

async function client () {
  if (name === 'hopsafe') {
    const { Client } = require('../../bindings/node/index.js')
    const c = new Client()
    return async (method, url, body) => (await c.request({ method, url, body })).bytes()
  }
  if (name === 'hopsafe-fetch') {
    const { Client } = require('../../bindings/node/index.js')
    const f = new Client().fetch
    return async (method, url, body) => (await f(url, { method, body })).arrayBuffer()
  }
  if (name === 'fetch') return async (method, url, body) => (await fetch(url, { method, body })).arrayBuffer()
  if (name === 'undici-request') {
    const { request, Agent, interceptors } = require('undici')
    const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }))
    return async (method, url, body) => {
      const r = await request(url, { method, body, dispatcher })
      return r.body.arrayBuffer()
    }
  }
  if (name === 'axios') {
    const axios = require('axios')
    return async (method, url, body) => (await axios.request({ method, url, data: body, responseType: 'arraybuffer' })).data
  }
  throw new Error(`unknown client ${name}`)
}

const call = await client()
await call('GET', `${base}/echo`)
const rps = {}
let t = performance.now()
for (let i = 0; i < N; i++) await call('GET', `${base}/echo`)
rps['sequential GET'] = N / ((performance.now() - t) / 1000)
t = performance.now()
await Promise.all(Array.from({ length: 64 }, async () => { for (let i = 0; i < N / 16; i++) await call('GET', `${base}/echo`) }))
rps['64 concurrent GET'] = (64 * N / 16) / ((performance.now() - t) / 1000)
t = performance.now()
for (let i = 0; i < N; i++) await call('POST', `${base}/echo`, KIB)
rps['POST 1 KiB'] = N / ((performance.now() - t) / 1000)
let error = null
try {
  t = performance.now()
  for (let i = 0; i < N; i++) await call('POST', `${base}/r/307`, KIB)
  rps['POST 1 KiB + 307'] = N / ((performance.now() - t) / 1000)
} catch (e) {
  error = `POST 1 KiB + 307 with a Buffer body: ${e.cause?.message ?? e.message}`.slice(0, 200)
}
console.log(JSON.stringify({ client: name, rps, peak_rss_kib: Math.round(process.resourceUsage().maxRSS), error }))
process.exit(0)
