// Minimum-version pinning as a (req, res, next) middleware on a real http server.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, it } from 'node:test'

import { Client, InvalidConfigError, pinning, Policy, UpgradeRequiredError } from '../index.mjs'

const POLICY = JSON.stringify({ unknown: 'deny_writes', rules: [{ sdk: 'acme-node', minimum: '2.5.0', methods: 'writes', path_prefix: '/v1/' }] })
let server
let base
const applied = []

before(async () => {
  const guard = pinning(new Policy(POLICY, 'json'))
  server = createServer((req, res) => guard(req, res, () => { applied.push(req.method); res.end('applied') }))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${server.address().port}`
})
after(() => server.close())

it('refuses old SDK writes with UpgradeRequiredError and lets the rest through', async () => {
  const old = new Client({ sdkName: 'acme-node', sdkVersion: '2.4.0' })
  await assert.rejects(old.post(`${base}/v1/orders`, { json: { a: 1 } }), (e) => e instanceof UpgradeRequiredError && e.minimumVersion === '2.5.0' && e.currentVersion === '2.4.0')
  assert.deepEqual(applied, [])
  assert.equal((await old.get(`${base}/v1/orders`)).status, 200)
  assert.equal((await new Client({ sdkName: 'acme-node', sdkVersion: '2.10.0' }).post(`${base}/v1/orders`, { body: 'x' })).status, 200)
  assert.deepEqual(applied, ['GET', 'POST'])
  const r = await new Client().post(`${base}/v1/orders`, { body: 'x', headers: { 'Client-SDK': 'garbage(' } })
  assert.equal(r.status, 400)
  assert.equal((await r.json()).type, 'urn:hopsafe:problem:sdk-identity-malformed')
})

it('refuses bad policies', () => {
  assert.throws(() => new Policy('{"rules":[{"sdk":"a","minimum":"one"}]}', 'json'), InvalidConfigError)
  assert.throws(() => pinning({}), TypeError)
})
