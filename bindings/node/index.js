'use strict'
// hopsafe for Node: the fetch/undici-style API over the Rust core (see README.md).

const diagnostics = require('node:diagnostics_channel')
const native = require('./native.js')
const { version } = require('./package.json')
const { createFetch: fetchOver, hopsafeInfo } = require('./fetch.js')

if (native.coreVersion() !== version) {
  throw new Error(`hopsafe ${version} found a native addon built from core ${native.coreVersion()}: rebuild or reinstall hopsafe so both match`)
}

/*
 * The error hierarchy, as the core groups its errors. Each class is the core's error name with
 * `Error` appended; `name` is the class name, `code` is `HOPSAFE_` plus the core name in upper
 * snake case (`HOPSAFE_TOO_MANY_REDIRECTS`).
 *
 *   HopsafeError                  code, url, history, writeAccepted
 *   ├── InvalidInputError         InvalidUrlError, InvalidHeaderError, InvalidMethodError,
 *   │                             InvalidConfigError, UnsupportedSchemeError
 *   ├── NetworkError              ConnectError, TlsError, TimeoutError (phase), TransportError
 *   ├── RedirectError             TooManyRedirectsError, RedirectLoopError, InsecureRedirectError,
 *   │                             InvalidLocationError, RedirectRejectedError
 *   ├── BodyError                 BodyNotReplayableError, BodyStreamError, ResponseTooLargeError
 *   ├── UpgradeRequiredError      sdk, minimumVersion, currentVersion
 *   └── CancelledError
 */
const ERROR_GROUPS = ['InvalidInput', 'Network', 'Redirect', 'Body']
// Core name -> its group (null: directly under HopsafeError).
const ERRORS = {
  InvalidUrl: 'InvalidInput',
  InvalidHeader: 'InvalidInput',
  InvalidMethod: 'InvalidInput',
  InvalidConfig: 'InvalidInput',
  Connect: 'Network',
  Tls: 'Network',
  Timeout: 'Network',
  Transport: 'Network',
  TooManyRedirects: 'Redirect',
  RedirectLoop: 'Redirect',
  InsecureRedirect: 'Redirect',
  UnsupportedScheme: 'InvalidInput',
  InvalidLocation: 'Redirect',
  BodyNotReplayable: 'Body',
  BodyStream: 'Body',
  ResponseTooLarge: 'Body',
  RedirectRejected: 'Redirect',
  UpgradeRequired: null,
  Cancelled: null,
}

/**
 * Root of every hopsafe error; `code`, `url` and `history` give the context. `writeAccepted`:
 * a hop turned the write into a GET, so the server accepted it before the error.
 */
class HopsafeError extends Error {
  constructor (message, { url = null, history = [], writeAccepted = false, code = 'HOPSAFE_ERROR', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = new.target.name
    this.code = code
    this.url = url
    this.history = history
    this.writeAccepted = writeAccepted
  }
}

/** A class named `name` extending `Base`, whose instances get `code` unless given one. */
function errorClass (name, Base, code) {
  return { [name]: class extends Base {
    constructor (message, opts = {}) { super(message, code === undefined ? opts : { ...opts, code }) }
  } }[name]
}

const errors = { HopsafeError }
for (const group of ERROR_GROUPS) errors[group + 'Error'] = errorClass(group + 'Error', HopsafeError)
/** Core error name -> class. */
const byCoreName = {}
for (const [name, group] of Object.entries(ERRORS)) {
  const code = 'HOPSAFE_' + name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()
  const Base = group === null ? HopsafeError : errors[group + 'Error']
  byCoreName[name] = errors[name + 'Error'] = errorClass(name + 'Error', Base, code)
}

function hops (list) {
  return (list || []).map((h) => Object.freeze({
    method: h.method,
    url: h.url,
    status: h.status_code,
    location: h.location ?? null,
    idempotencyKey: h.idempotency_key ?? null,
    attempts: h.attempts,
    dropped: h.dropped.map(([name, reason]) => Object.freeze({ name, reason })),
  }))
}

function toError (doc, cause) {
  const Cls = Object.hasOwn(byCoreName, doc.name) ? byCoreName[doc.name] : HopsafeError
  const err = new Cls(doc.message, { url: doc.url ?? null, history: hops(doc.history), writeAccepted: Boolean(doc.write_accepted), cause })
  for (const [k, js] of [['phase', 'phase'], ['minimum_version', 'minimumVersion'], ['current_version', 'currentVersion'], ['sdk', 'sdk']]) {
    if (k in doc) err[js] = doc[k]
  }
  return err
}

/** Case-insensitive, multi-valued response headers (like the WHATWG `Headers`). */
class Headers {
  #items
  constructor (items = []) { this.#items = items.map(([k, v]) => [k.toLowerCase(), v]) }
  get (name) {
    const v = this.getAll(name)
    return v.length ? v.join(', ') : null
  }

  getAll (name) {
    const key = String(name).toLowerCase()
    return this.#items.filter(([k]) => k === key).map(([, v]) => v)
  }

  has (name) { return this.getAll(name).length > 0 }
  * keys () { yield * new Set(this.#items.map(([k]) => k)) }
  * entries () { for (const k of this.keys()) yield [k, this.get(k)] }
  [Symbol.iterator] () { return this.entries() }
  forEach (fn, thisArg) { for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this) }
}

/** A Uint8Array view of a Buffer's bytes (no copy). */
const view = (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)

/**
 * A response after every redirect was followed, at headers (like fetch): the body is read
 * when you ask, through `body` (a ReadableStream, pulled chunk by chunk) or at once with
 * `text()`, `json()`, `arrayBuffer()` or `bytes()` (capped by the client's `maxBodySize`).
 * Cancelling the stream (or the request's AbortSignal) aborts the transfer.
 */
class Response {
  #native
  #stream = null
  #used = false
  #done
  #signal
  constructor (meta, nativeBody, done, signal) {
    this.status = meta.status_code
    this.ok = this.status >= 200 && this.status < 300
    this.url = meta.url
    this.method = meta.method
    this.httpVersion = meta.http_version
    this.headers = new Headers(meta.headers)
    this.history = hops(meta.history)
    this.idempotencyKey = meta.idempotency_key ?? null
    this.attempts = meta.attempts
    this.#native = nativeBody
    this.#done = done
    this.#signal = signal
  }

  #error (doc) {
    const e = JSON.parse(doc)
    return toError(e, e.name === 'Cancelled' ? this.#signal?.reason : undefined)
  }

  /**
   * The body as a `ReadableStream<Uint8Array>` (a byte stream): each read pulls one chunk
   * from the core; a BYOB reader has the core copy into the caller's buffer instead, so no
   * buffer is allocated per chunk.
   */
  get body () {
    if (this.#stream === null) {
      const native = this.#native
      const used = () => { this.#used = true }
      const done = this.#done
      const error = (doc) => this.#error(doc)
      this.#stream = new ReadableStream({
        type: 'bytes',
        async pull (controller) {
          used()
          // A BYOB reader (getReader({ mode: 'byob' })): the core copies into its view, at
          // once when the bytes (or the end) are already here.
          const req = controller.byobRequest
          if (req) {
            const v = req.view
            let n = native.tryReadInto(v)
            if (n === null) {
              const r = await native.readInto(v)
              if (!r.ok) {
                done()
                controller.error(error(r.error))
                return
              }
              n = r.n
            }
            if (n === 0) {
              done()
              controller.close()
              req.respond(0)
            } else {
              req.respond(n)
            }
            return
          }
          // Bytes (or the end) already here need no trip to the runtime.
          const r = native.tryNext() ?? await native.next()
          if (!r.ok) {
            done()
            controller.error(error(r.error))
          } else if (r.chunk == null) {
            done()
            controller.close()
          } else {
            controller.enqueue(view(r.chunk))
          }
        },
        cancel () {
          used()
          native.close()
          done()
        },
      }, { highWaterMark: 0 })
    }
    return this.#stream
  }

  /** True once the body was read, or reading it started. */
  get bodyUsed () { return this.#used }

  async #all () {
    if (this.#used) throw new TypeError('the body was already read')
    if (this.#stream?.locked) throw new TypeError('the body stream is locked by a reader')
    this.#used = true
    const r = this.#native.tryReadAll() ?? await this.#native.readAll()
    this.#done()
    if (!r.ok) throw this.#error(r.error)
    return r.chunk
  }

  async bytes () { return view(await this.#all()) }
  async arrayBuffer () {
    const b = await this.#all()
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)
  }

  async text () { return (await this.#all()).toString('utf8') }
  async json () { return JSON.parse((await this.#all()).toString('utf8')) }
}

function pairs (headers, what) {
  if (headers == null) return []
  const list = typeof headers.entries === 'function' && !Array.isArray(headers)
    ? [...headers.entries()]
    : Array.isArray(headers) ? headers : Object.entries(headers)
  return list.map((item) => {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || typeof item[1] !== 'string') {
      throw new TypeError(`${what} must map string names to string values`)
    }
    return [item[0], item[1]]
  })
}

function isStream (body) {
  return body != null && typeof body !== 'string' &&
    (typeof body[Symbol.asyncIterator] === 'function' || typeof body.getReader === 'function')
}

function toBuffer (body) {
  if (body == null) return null
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  // Views, not copies: `send` copies the bytes into the core before it returns (the copy a
  // 307/308 or a retry replays), so the caller's buffer stays theirs to change at once.
  if (Buffer.isBuffer(body)) return body
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  throw new TypeError('body must be a string, Buffer, Uint8Array, ArrayBuffer, async iterable or ReadableStream')
}

/** A chunk of a streamed body as a Buffer (a view, not a copy: the addon copies it once). */
function chunkBuffer (chunk) {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  if (Buffer.isBuffer(chunk)) return chunk
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk)
  throw new TypeError(`streamed bodies must yield strings or bytes, got ${typeof chunk}`)
}

/**
 * Feeds a ReadableStream or async iterable into the addon while the request runs, one chunk
 * at a time (the core keeps its replay copy up to the client's replayLimit). Stops when the
 * core no longer reads the body. Resolves with the error the stream threw, if any.
 */
async function pump (body, writer) {
  try {
    for await (const chunk of body) {
      if (!await writer.write(chunkBuffer(chunk))) break
    }
    writer.end()
  } catch (e) {
    writer.fail(String(e?.message ?? e))
    return e
  }
}

/** Milliseconds to the core's seconds; `undefined` stays absent (the default), `null` is "no deadline". */
function seconds (ms, what) {
  if (ms === undefined) return undefined
  if (ms === null) return null
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`${what} must be a non-negative number of milliseconds`)
  return ms / 1000
}

/** A retry policy in the core's document form (absent when not given). */
function retryDoc (retry) {
  if (retry == null) return undefined
  return {
    max_attempts: retry.maxAttempts,
    base_delay: seconds(retry.baseDelayMs ?? undefined, 'retry.baseDelayMs'),
    max_delay: seconds(retry.maxDelayMs ?? undefined, 'retry.maxDelayMs'),
    max_retry_after: seconds(retry.maxRetryAfterMs ?? undefined, 'retry.maxRetryAfterMs'),
    statuses: retry.statuses,
    retry_keyed_writes: retry.retryKeyedWrites,
  }
}

/** A client with a connection pool; every method returns a Promise. */
class Client {
  #native
  #fetch = null
  constructor (options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const o = options
    if (o.redirectHook != null && typeof o.redirectHook !== 'function') throw new TypeError('redirectHook must be a function')
    const retry = o.retry
    // The core's option document: an undefined option is left out (the core default).
    const config = {
      headers: pairs(o.headers, 'headers'),
      trusted_origins: [...(o.trustedOrigins ?? [])],
      sensitive_headers: [...(o.sensitiveHeaders ?? [])],
      key_honoring_origins: [...(o.keyHonoringOrigins ?? [])],
      allow_https_downgrade: o.allowHttpsDowngrade,
      follow_redirects: o.followRedirects,
      max_redirects: o.maxRedirects,
      replay_limit: o.replayLimit,
      max_body_size: o.maxBodySize,
      timeout: seconds(o.timeoutMs, 'timeoutMs'),
      connect_timeout: seconds(o.connectTimeoutMs, 'connectTimeoutMs'),
      read_timeout: seconds(o.readTimeoutMs, 'readTimeoutMs'),
      idempotency_keys: o.idempotencyKeys,
      idempotency_methods: o.idempotencyMethods,
      idempotency_key_format: o.idempotencyKeyFormat,
      retry: retryDoc(retry),
      ca_pem: o.ca ?? (o.caFile ? require('node:fs').readFileSync(o.caFile, 'utf8') : undefined),
      builtin_roots: o.builtinRoots,
      system_roots: o.systemRoots,
      client_cert_pem: o.cert,
      client_key_pem: o.key,
      http2: o.http2,
      cookies: o.cookies,
      proxy: o.proxy,
      no_proxy: o.noProxy,
      trust_env: o.trustEnv,
      user_agent: o.userAgent,
      sdk_name: o.sdkName,
      sdk_version: o.sdkVersion,
      runtime: `node/${process.versions.node}`,
    }
    try {
      this.#native = new native.NativeClient(JSON.stringify(config), o.redirectHook == null ? undefined : hookCaller(o.redirectHook))
    } catch (e) {
      let doc
      try { doc = JSON.parse(e.message) } catch { throw new errors.InvalidConfigError(String(e.message)) }
      throw toError(doc)
    }
  }

  /**
   * Sends a request, following redirects and retrying as configured; resolves at headers
   * (read the body from the response).
   */
  async request (init) {
    if (init === null || typeof init !== 'object') throw new TypeError('request() takes an options object')
    syncTracing()
    const { method = 'GET', url, headers, body, json, followRedirects, maxRedirects, idempotencyKey, timeoutMs, retry, signal } = init
    if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError('url must be a string or URL')
    if (typeof method !== 'string') throw new TypeError('method must be a string')
    if (idempotencyKey != null && typeof idempotencyKey !== 'string' && typeof idempotencyKey !== 'boolean') {
      throw new TypeError('idempotencyKey must be a string, true, false or undefined')
    }
    const list = pairs(headers, 'headers')
    let payload
    if (json !== undefined) {
      if (body != null) throw new TypeError('pass either body or json, not both')
      payload = Buffer.from(JSON.stringify(json))
      if (!list.some(([k]) => k.toLowerCase() === 'content-type')) list.push(['content-type', 'application/json'])
    } else if (!isStream(body)) {
      payload = toBuffer(body)
    }
    const doc = JSON.stringify({
      method: method.toUpperCase(),
      url: String(url),
      headers: list,
      idempotency_key: idempotencyKey ?? null,
      follow_redirects: followRedirects ?? null,
      max_redirects: maxRedirects ?? null,
      timeout: seconds(timeoutMs, 'timeoutMs'),
      retry: retryDoc(retry),
    })
    if (signal?.aborted) throw new errors.CancelledError('request aborted', { cause: signal.reason })
    // The request's one native object: it cancels the request and holds the response body.
    const sink = new native.ResponseBody()
    // The signal aborts the request, then the body, until the body is read or cancelled.
    const onAbort = () => sink.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => signal?.removeEventListener('abort', onAbort)
    let result
    let pumped
    try {
      if (json === undefined && isStream(body)) {
        const writer = new native.BodyWriter()
        const pending = this.#native.sendStream(doc, writer, sink)
        pumped = pump(body, writer)
        result = await pending
      } else {
        result = await this.#native.send(doc, payload, sink)
      }
    } catch (e) {
      done()
      throw e
    }
    const meta = JSON.parse(result.meta)
    if (!result.ok) done()
    // The caller's stream failed: that error, not the core's account of the aborted upload.
    if (!result.ok && meta.name === 'BodyStream' && pumped) {
      const thrown = await pumped
      if (thrown !== undefined) throw thrown
    }
    if (!result.ok) throw toError(meta, meta.name === 'Cancelled' ? signal?.reason : undefined)
    if (signal?.aborted) {
      // Aborted as the headers came in: like fetch, the request fails.
      sink.close()
      done()
      throw new errors.CancelledError('request aborted', { cause: signal.reason })
    }
    return new Response(meta, sink, done, signal)
  }

  /**
   * WHATWG `fetch(input, init)` through this client, already bound (pass it around as is):
   * resolves with Node's own `Response` (body streamed); `response[hopsafeInfo]` has the
   * history and Idempotency-Key.
   */
  /**
   * The client's counters so far: redirects by status and origin pair (with each pair's age),
   * headers stripped, retries by reason, and re-sent writes (`writesDeliveredTwice` must stay 0).
   */
  metrics () { return this.#native.metrics() }

  get fetch () {
    this.#fetch ??= fetchOver(this, errors)
    return this.#fetch
  }

  get (url, init = {}) { return this.request({ ...init, method: 'GET', url }) }
  head (url, init = {}) { return this.request({ ...init, method: 'HEAD', url }) }
  options (url, init = {}) { return this.request({ ...init, method: 'OPTIONS', url }) }
  post (url, init = {}) { return this.request({ ...init, method: 'POST', url }) }
  put (url, init = {}) { return this.request({ ...init, method: 'PUT', url }) }
  patch (url, init = {}) { return this.request({ ...init, method: 'PATCH', url }) }
  delete (url, init = {}) { return this.request({ ...init, method: 'DELETE', url }) }
}

/** Hands a hook decision back to the core: `undefined`/`true`/`'follow'`, `false`/`'stop'`. */
function hookReply (id, v) {
  if (v === undefined || v === null || v === true || v === 'follow') native.redirectHookReply(id, 'follow')
  else if (v === false || v === 'stop') native.redirectHookReply(id, 'stop')
  else native.redirectHookReply(id, 'fail', `the redirect hook returned ${String(v)}; return undefined, 'follow', 'stop' (or false), or throw`)
}

const hookFailed = (id, e) => native.redirectHookReply(id, 'fail', String(e?.message ?? e))

/**
 * The function the addon calls for each hop (a JSON document with the call's `id`): asks the
 * user's hook, sync or async, and answers the core. A throw (or a rejection) refuses the hop:
 * the call fails with RedirectRejectedError carrying its message.
 */
function hookCaller (hook) {
  return (doc) => {
    const { id, ...hop } = JSON.parse(doc)
    let v
    try {
      v = hook(Object.freeze(hop))
    } catch (e) {
      hookFailed(id, e)
      return
    }
    if (v != null && typeof v.then === 'function') v.then((r) => hookReply(id, r), (e) => hookFailed(id, e))
    else hookReply(id, v)
  }
}

/*
 * The core's tracing data on diagnostics_channel: `hopsafe:request` (method, origin) as each
 * call starts, `hopsafe:hop` per redirect followed (status, from, to origins, method,
 * next_method, dropped: [{ name, reason }]), `hopsafe:retry` per retry (attempt, failure,
 * wait_ms, origin). Never a credential, path or query.
 */
const channels = {
  request: diagnostics.channel('hopsafe:request'),
  hop: diagnostics.channel('hopsafe:hop'),
  retry: diagnostics.channel('hopsafe:retry'),
}
const subscribed = () => channels.request.hasSubscribers || channels.hop.hasSubscribers || channels.retry.hasSubscribers
let tracing = false
/** Has the core forward its records only while someone listens (checked as each call starts). */
function syncTracing () {
  const on = subscribed()
  if (on !== tracing) {
    tracing = on
    native.traceEnabled(on)
  }
}
native.traceTo((doc) => {
  if (!subscribed()) return
  const { channel, message } = JSON.parse(doc)
  if (typeof message.dropped === 'string') {
    message.dropped = [...message.dropped.matchAll(/\("((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\)/g)].map(([, name, reason]) => ({ name, reason }))
  }
  channels[channel]?.publish(message)
})

/** A minimum-version pinning policy (JSON or TOML text), evaluated by the hopsafe core. */
class Policy {
  #native
  constructor (text, format = 'toml') {
    if (typeof text !== 'string') throw new TypeError('Policy takes the policy text (JSON or TOML)')
    try {
      this.#native = new native.NativePolicy(text, format)
    } catch (e) {
      throw toError(JSON.parse(e.message))
    }
  }

  /** Loads a `.toml` or `.json` file. */
  static fromFile (path) {
    return new Policy(require('node:fs').readFileSync(path, 'utf8'), String(path).endsWith('.json') ? 'json' : 'toml')
  }

  /** `null` to let the request through, or `{ status, body }` (problem+json) to refuse it. */
  evaluate (method, path, headers) {
    return this.#native.evaluate(method, path, pairs(headers, 'headers'))
  }
}

/**
 * Connect/Express-style middleware refusing SDK versions below the policy's minimum:
 * `app.use(pinning(Policy.fromFile('pinning.toml')))`.
 */
function pinning (policy) {
  if (!(policy instanceof Policy)) throw new TypeError('pinning() takes a hopsafe Policy')
  return function hopsafePinning (req, res, next) {
    const headers = Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])
    const path = (req.url || '/').split('?')[0]
    const denial = policy.evaluate(req.method || 'GET', path, headers)
    if (denial === null || denial === undefined) return next()
    res.statusCode = denial.status
    res.setHeader('content-type', 'application/problem+json')
    res.end(denial.body)
  }
}

let shared
/** A one-off request with a shared default client. */
function request (init) {
  shared ??= new Client()
  return shared.request(init)
}

/** WHATWG `fetch` through the shared default client (`new Client().fetch` for your own). */
function fetch (input, init) {
  shared ??= new Client()
  return shared.fetch(input, init)
}

/** A `fetch(input, init)` function bound to `client`. */
function createFetch (client) {
  if (!(client instanceof Client)) throw new TypeError('createFetch() takes a hopsafe Client')
  return (input, init) => client.fetch(input, init)
}

module.exports = { Client, Headers, Response, Policy, pinning, request, fetch, createFetch, hopsafeInfo, coreVersion: native.coreVersion, ...errors }
