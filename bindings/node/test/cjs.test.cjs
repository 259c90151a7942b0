// The CommonJS entry point exposes the same API.
const assert = require('node:assert/strict')
const { test } = require('node:test')

test('require("hopsafe") works', () => {
  const hopsafe = require('../index.js')
  assert.equal(typeof hopsafe.Client, 'function')
  assert.equal(new hopsafe.InvalidUrl('x').name, 'InvalidUrl')
  assert.ok(hopsafe.coreVersion())
})
