// Compiled by `tsc --noEmit` in the node test step: the public types in use.
import { Client, HopsafeError, TooManyRedirectsError, createFetch, fetch, hopsafeInfo, type FetchInfo, type Hop, type Metrics, type RedirectHop, type Response } from '../index.js'

async function demo (): Promise<void> {
  const client = new Client({ trustedOrigins: ['https://*.api.example.com'], keyHonoringOrigins: ['https://api.example.com'], retry: { maxAttempts: 2 } })
  const ac = new AbortController()
  try {
    const resp: Response = await client.post('https://api.example.com/v1/orders', {
      json: { sku: 'A-1' }, headers: { authorization: 'Bearer s3cret' }, signal: ac.signal, idempotencyKey: 'k',
    })
    const first: Hop | undefined = resp.history[0]
    const key: string | null = resp.idempotencyKey
    console.log(resp.status, resp.headers.get('content-type'), first?.dropped[0]?.reason, key, await resp.json<{ id: number }>())
  } catch (e) {
    if (e instanceof TooManyRedirectsError) console.log(e.history.length)
    else if (e instanceof HopsafeError) console.log(e.code, e.url, e.writeAccepted)
  }
}
async function streamed (client: Client): Promise<number> {
  const resp = await client.get('https://api.example.com/v1/export', { signal: AbortSignal.timeout(60_000) })
  let n = 0
  for await (const chunk of resp.body) n += chunk.byteLength
  const used: boolean = resp.bodyUsed
  return used ? n : -1
}
void demo
void streamed
void new Client({ maxBodySize: 16 * 1024 * 1024 })

function stale (client: Client): string[] {
  const m: Metrics = client.metrics()
  const week = 7 * 24 * 3600 * 1000
  if (m.writesDeliveredTwice !== 0) throw new Error('a write was delivered twice')
  return m.redirects.filter((r) => r.status === 307 && r.ageMs > week).map((r) => `${r.from} -> ${r.to}`)
}
void stale

async function fetched (client: Client): Promise<string> {
  const res = await fetch('https://api.example.com/v1/orders', { method: 'POST', body: new URLSearchParams({ a: '1' }), redirect: 'manual', hopsafe: { idempotencyKey: 'k' } })
  const own = createFetch(client)
  const again = await own(new Request('https://api.example.com/'), { signal: AbortSignal.timeout(1000) })
  const info: FetchInfo = res[hopsafeInfo]
  return `${info.history.length} ${info.idempotencyKey ?? ''} ${again.status} ${await (await client.fetch('https://a.example/')).text()}`
}
void fetched
void new Client({ redirectHook: (hop: RedirectHop) => hop.nextMethod === 'GET' ? 'stop' : undefined })
void new Client({ redirectHook: async (hop) => { if (hop.hops > 2) throw new Error('too far') } })
