'use strict'
// Finds hopsafe's native addon for this machine: a development build next to this file
// (`hopsafe.<platform>.node`, made by `npm run build`), else the per-platform package
// (`hopsafe-<platform>`) that npm installed from hopsafe's optionalDependencies.

/** Platforms with a published addon package, as napi-rs names them (on Windows a MinGW build,
 * `win32-x64-gnu`, is tried after the published MSVC one, for local builds). */
const PUBLISHED = [
  'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl',
  'darwin-x64', 'darwin-arm64', 'win32-x64-msvc',
]

/** Whether this Linux process runs on musl (the process report names glibc when it is glibc). */
function isMusl () {
  try {
    process.report.excludeNetwork = true
    return !process.report.getReport().header.glibcVersionRuntime
  } catch {
    return require('node:fs').existsSync('/etc/alpine-release')
  }
}

/** The napi-rs platform names that fit this process, best first. */
function candidates () {
  const { platform, arch } = process
  if (platform === 'linux') return [`linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`]
  if (platform === 'win32') return [`win32-${arch}-msvc`, `win32-${arch}-gnu`]
  return [`${platform}-${arch}`]
}

function load () {
  const names = candidates()
  const failures = []
  for (const name of names) {
    const local = require('node:path').join(__dirname, `hopsafe.${name}.node`)
    if (require('node:fs').existsSync(local)) return require(local)
  }
  for (const name of names) {
    try {
      return require(`hopsafe-${name}`)
    } catch (e) {
      // A package that is there but fails to load (wrong libc, damaged file) is reported as such.
      if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(`'hopsafe-${name}'`)) failures.push(e)
    }
  }
  const here = `${names[0]} (node ${process.version}, ${process.platform}/${process.arch})`
  const fix = names.some((n) => PUBLISHED.includes(n))
    ? `install its package: \`npm install hopsafe-${names.find((n) => PUBLISHED.includes(n))}\` ` +
      '(npm skips it with --omit=optional or --no-optional, or when the lockfile was made on another platform), ' +
      'or build the addon from source: `npm run build` in bindings/node of the hopsafe repository'
    : `hopsafe publishes addons for ${PUBLISHED.join(', ')} only; build it from source: ` +
      '`npm run build` in bindings/node of the hopsafe repository (needs a Rust toolchain)'
  const err = new Error(`hopsafe: no native addon loaded for ${here}: ${fix}` +
    failures.map((f) => `\n  loading failed: ${f.message}`).join(''))
  if (failures.length) err.cause = failures[0]
  throw err
}

module.exports = load()
