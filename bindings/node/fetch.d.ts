// The fetch adapter's types (`hopsafe.fetch`, `client.fetch`, `createFetch`), kept apart from
// index.d.ts, whose own Headers/Response/RequestInit would hide the global fetch types here.
import type { Hop, RetryOptions } from './index.js'

/** What fetch's own init cannot say, in `init.hopsafe`. */
export interface HopsafeFetchOptions {
  /** A string uses it, `false` sends none, `true` generates one; default per client (an `Idempotency-Key` header works too). */
  idempotencyKey?: string | boolean
  /** Override the client's maxRedirects for this call. */
  maxRedirects?: number
  /** Whole-call deadline in milliseconds (hopsafe's `TimeoutError`, as the cause of the TypeError). */
  timeoutMs?: number | null
  /** This call's retry policy. */
  retry?: RetryOptions
}

/** fetch's `RequestInit` plus `hopsafe`. */
export type FetchInit = RequestInit & { hopsafe?: HopsafeFetchOptions }

/** What hopsafe adds to a fetch `Response`, at `response[hopsafeInfo]`. */
export interface FetchInfo {
  /** Every redirect followed, in order. */
  readonly history: readonly Hop[]
  /** The Idempotency-Key sent (the same on every hop and retry), or null. */
  readonly idempotencyKey: string | null
  /** Attempts the final hop took (1 without retries). */
  readonly attempts: number
  /** The method of the final request. */
  readonly method: string
  /** `HTTP/1.1` or `HTTP/2.0`. */
  readonly httpVersion: string
}

/** The symbol under which a fetch Response carries its {@link FetchInfo} (`Symbol.for('hopsafe.info')`). */
export declare const hopsafeInfo: unique symbol

/** Node's global Response, with hopsafe's facts. */
export type FetchResponse = Response & { readonly [hopsafeInfo]: FetchInfo }

/**
 * WHATWG fetch through hopsafe: Node's `Request` parses input and init; network failures
 * reject with `TypeError('fetch failed')` whose `cause` is the HopsafeError; an abort rejects
 * with the signal's reason (an `AbortError`).
 */
export type Fetch = (input: string | URL | Request, init?: FetchInit) => Promise<FetchResponse>
