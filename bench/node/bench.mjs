// Node benchmark: one client per process, same loopback server.
//   node bench.mjs BASE_URL CLIENT [--quick] [--round R]   ->  one JSON line
// Round R (from 1) starts the workloads at workload R - 1, so across rounds no workload
// is always the first one timed.
// CLIENT: hopsafe, hopsafe-fetch (hopsafe.fetch, the adapter), fetch, undici-request, axios
import { createRequire } from 'node:module'

const [base, name] = process.argv.slice(2)
const quick = process.argv.includes('--quick')
const N = quick ? 1000 : 5000
const roundArg = process.argv.indexOf('--round')
const round = roundArg > 0 ? Number(process.argv[roundArg + 1]) : 1
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
// Each run takes a number of requests and returns how many it made.
const seq = (method, path, body) => async (n) => { for (let i = 0; i < n; i++) await call(method, `${base}${path}`, body); return n }
const workloads = [
  ['sequential GET', N, seq('GET', '/echo')],
  ['64 concurrent GET', 64 * (N / 16), async (n) => (await Promise.all(Array.from({ length: 64 }, () => seq('GET', '/echo')(Math.round(n / 64))))).reduce((a, b) => a + b)],
  ['POST 1 KiB', N, seq('POST', '/echo', KIB)],
  ['POST 1 KiB + 307', N, seq('POST', '/r/307', KIB), 'POST 1 KiB + 307 with a Buffer body'],
]
// The first workload timed in a process costs JavaScript clients more (V8 still optimising
// on its background threads, whose CPU time counts), so each round starts at another one.
const shift = (round - 1) % workloads.length
workloads.push(...workloads.splice(0, shift))
const rps = {}
// CPU microseconds per request: this process's user + system time, every thread (hopsafe's
// runtime threads included), so it compares the work each client does, not the machine's wake-ups.
const cpuUs = {}
let error = null
// A quarter of each workload first, untimed, so the rates are of warm code (V8's JIT
// compiles a JavaScript client's hot paths only after some thousand calls) and a full pool.
for (const timed of [false, true]) {
  for (const [name, n, run, what] of workloads) {
    if (name in rps || (what && error)) continue
    try {
      const t = performance.now()
      const c = process.cpuUsage()
      const made = await run(timed ? n : Math.round(n / 4))
      if (timed) {
        rps[name] = made / ((performance.now() - t) / 1000)
        const used = process.cpuUsage(c)
        cpuUs[name] = (used.user + used.system) / made
      }
    } catch (e) {
      if (!what) throw e
      error = `${what}: ${e.cause?.message ?? e.message}`.slice(0, 200)
    }
  }
}
console.log(JSON.stringify({ client: name, rps, cpu_us: cpuUs, peak_rss_kib: Math.round(process.resourceUsage().maxRSS), error }))
process.exit(0)
