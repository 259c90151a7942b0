'use strict'
// hopsafe.fetch: the WHATWG fetch signature over a hopsafe Client, returning Node's own
// Response (see README.md, "fetch"). A translation layer only: the core follows redirects,
// strips credentials and keys writes; nothing here decides policy.

/** `response[hopsafeInfo]`: the redirect history, Idempotency-Key and attempts of a fetch. */
const hopsafeInfo = Symbol.for('hopsafe.info')

/** fetch's redirect statuses (what `redirect: 'error'` refuses). */
const REDIRECT = new Set([301, 302, 303, 307, 308])

/** Statuses whose response has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** A request body the caller streams (sent as it is read, not buffered first). */
function isStreamBody (body) {
  return body != null && typeof body === 'object' &&
    (typeof body.getReader === 'function' || (typeof body[Symbol.asyncIterator] === 'function' && !ArrayBuffer.isView(body)))
}

/** The failure fetch reports for everything but an abort: `TypeError('fetch failed')`, the hopsafe error as `cause`. */
function fetchFailed (err) {
  return new TypeError('fetch failed', { cause: err })
}

/** A failure while the body is read, as fetch reports it: the abort reason, or `TypeError('terminated')` with the hopsafe error as `cause`. */
function bodyFailed (e, signal, CancelledError) {
  return e instanceof CancelledError && signal.aborted ? signal.reason : new TypeError('terminated', { cause: e })
}

/**
 * The response body as a stream whose errors look like fetch's (see bodyFailed). The
 * hopsafe stream is only locked once this one is read, so a whole read can go to the core.
 */
function fetchBody (source, signal, CancelledError) {
  let reader = null
  return new ReadableStream({
    async pull (controller) {
      reader ??= source.getReader()
      let r
      try {
        r = await reader.read()
      } catch (e) {
        controller.error(bodyFailed(e, signal, CancelledError))
        return
      }
      if (r.done) controller.close()
      else controller.enqueue(r.value)
    },
    cancel (reason) { return (reader ?? source).cancel(reason) },
  }, { highWaterMark: 0 })
}

/**
 * `arrayBuffer()`, `blob()`, `json()` and `text()` of `response` read the body whole through
 * the core (one read, capped by the client's `maxBodySize` as `Client.request`'s responses
 * are); reading `response.body` is never capped. Once read, the body is used, as in fetch.
 */
function readsWhole (response, resp, signal, CancelledError) {
  const proto = Response.prototype
  for (const name of ['arrayBuffer', 'blob', 'json', 'text']) {
    Object.defineProperty(response, name, {
      configurable: true,
      writable: true,
      value: async function () {
        // A body already read or being read: fetch's own error.
        if (this.bodyUsed || this.body?.locked || resp.bodyUsed) return proto[name].call(this)
        let bytes
        try {
          bytes = await resp.bytes()
        } catch (e) {
          throw bodyFailed(e, signal, CancelledError)
        } finally {
          await this.body.cancel()
        }
        return proto[name].call(new Response(bytes, { headers: this.headers }))
      },
    })
  }
}

/** The hopsafe options of `init.hopsafe` (what fetch's own init cannot say). */
function extras (init) {
  const h = init?.hopsafe
  if (h == null) return {}
  if (typeof h !== 'object') throw new TypeError('init.hopsafe must be an object')
  const { idempotencyKey, maxRedirects, timeoutMs, retry } = h
  return { idempotencyKey, maxRedirects, timeoutMs, retry }
}

/**
 * `fetch(input, init)` bound to `client` (a hopsafe Client): `{ CancelledError }` and
 * `HopsafeError` come from index.js.
 */
function createFetch (client, { HopsafeError, CancelledError, RedirectRejectedError }) {
  return async function fetch (input, init = undefined) {
    // Node's Request parses the input and init exactly as fetch does (URL, method, headers,
    // body types and their content-type, redirect mode, signal).
    const request = new Request(input, init)
    const signal = request.signal
    if (signal.aborted) throw signal.reason
    const streamed = isStreamBody(init?.body)
    let body
    if (request.body !== null) {
      // A stream body is sent as it is read (the core keeps a replay copy up to
      // `replayLimit` for a 307/308); any other body is read whole first.
      body = streamed ? request.body : new Uint8Array(await request.arrayBuffer())
    }
    const options = {
      method: request.method,
      url: request.url,
      headers: [...request.headers],
      body,
      signal,
      ...extras(init),
    }
    // 'manual' and 'error' follow nothing: the core returns the 3xx ('error' then fails it).
    if (request.redirect !== 'follow') options.followRedirects = false
    let resp
    try {
      resp = await client.request(options)
    } catch (e) {
      if (e instanceof CancelledError && signal.aborted) throw signal.reason
      if (e instanceof HopsafeError) throw fetchFailed(e)
      throw e
    }
    if (request.redirect === 'error' && REDIRECT.has(resp.status)) {
      await resp.body.cancel()
      throw fetchFailed(new RedirectRejectedError(`redirect: 'error' refuses the ${resp.status} redirect`, { url: resp.url, history: resp.history }))
    }
    const empty = NULL_BODY.has(resp.status) || request.method === 'HEAD'
    if (empty) await resp.body.cancel()
    let response
    try {
      const headers = new Headers()
      for (const name of resp.headers.keys()) {
        for (const value of resp.headers.getAll(name)) headers.append(name, value)
      }
      response = new Response(empty ? null : fetchBody(resp.body, signal, CancelledError), { status: resp.status, headers })
      if (!empty) readsWhole(response, resp, signal, CancelledError)
    } catch (e) {
      if (!empty) await resp.body.cancel()
      throw fetchFailed(e)
    }
    Object.defineProperty(response, 'url', { value: resp.url })
    Object.defineProperty(response, 'redirected', { value: resp.history.length > 0 })
    Object.defineProperty(response, hopsafeInfo, {
      value: Object.freeze({
        history: resp.history,
        idempotencyKey: resp.idempotencyKey,
        attempts: resp.attempts,
        method: resp.method,
        httpVersion: resp.httpVersion,
      }),
    })
    return response
  }
}

module.exports = { createFetch, hopsafeInfo }
