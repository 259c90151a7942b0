// Starts one hopsafe-testserver (binary from $HOPSAFE_TESTSERVER) and talks to its control API.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export async function startLab () {
  const bin = process.env.HOPSAFE_TESTSERVER
  if (!bin) throw new Error('set HOPSAFE_TESTSERVER to the hopsafe-testserver binary (cargo xtask test does)')
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout })
    rl.once('line', (l) => { rl.close(); resolve(l) })
    child.once('error', reject)
  })
  const ready = JSON.parse(line)
  const a = ready.origins.a
  const call = async (method, path, body) => {
    const r = await fetch(a + path, { method, body: body && JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    return r.json()
  }
  return {
    ready,
    origins: ready.origins,
    ca: ready.ca_pem,
    async script (steps, origin = 'a') {
      const { id } = await call('POST', '/__scripts', { steps })
      return [id, `${ready.origins[origin]}/s/${id}/0`]
    },
    records: (id) => call('GET', `/__scripts/${id}/records`),
    writes: (id) => call('GET', `/__scripts/${id}/writes`),
    stop () { child.stdin.end(); child.kill() },
  }
}

export const header = (rec, name) => rec.headers[name.toLowerCase()]?.[0] ?? null
