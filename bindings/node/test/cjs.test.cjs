// The CommonJS entry point exposes the same API.
const assert = require('node:assert/strict')
const { test } = require('node:test')

test('require("hopsafe") works', () => {
  const hopsafe = require('../index.js')
  assert.equal(typeof hopsafe.Client, 'function')
  assert.equal(new hopsafe.InvalidUrlError('x').name, 'InvalidUrlError')
  assert.ok(hopsafe.coreVersion())
})
