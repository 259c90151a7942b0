// A POST through a regional failover (307 to the standby, 308 to the final path), against the
// local multi-origin lab server:
//   HOPSAFE_TESTSERVER=target/debug/hopsafe-testserver node examples/node/failover.mjs
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

import { Client } from '../../bindings/node/index.mjs'

const lab = spawn(process.env.HOPSAFE_TESTSERVER ?? 'target/debug/hopsafe-testserver', [], { stdio: ['pipe', 'pipe', 'inherit'] })
const ready = JSON.parse(await new Promise((resolve) => createInterface({ input: lab.stdout }).once('line', resolve)))
const { a: primary } = ready.origins
const steps = [{ status: 307, location: '{b}/s/{id}/1' }, { status: 308, location: '{b}/s/{id}/2' }, { status: 201, apply: true }]
const { id } = await (await fetch(`${primary}/__scripts`, { method: 'POST', body: JSON.stringify({ steps }) })).json()

const client = new Client()
const r = await client.post(`${primary}/s/${id}/0`, { json: { order: 'A-1', qty: 2 }, headers: { Authorization: 'Bearer demo-token' } })
for (const hop of r.history) console.log(`${hop.status} ${hop.method} ${hop.url} -> ${hop.location}  dropped=${JSON.stringify(hop.dropped)}`)
console.log(`final ${r.status} ${r.method} ${r.url}  idempotency-key=${r.idempotencyKey}`)
assert.equal(r.status, 201)
assert.equal(r.method, 'POST')
assert.deepEqual(r.history[0].dropped, [{ name: 'authorization', reason: 'cross-origin' }])
lab.stdin.end()
