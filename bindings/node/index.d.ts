/** hopsafe: HTTP writes that survive redirects (Rust core). */
import type { Fetch } from './fetch.js'
export type { Fetch, FetchInit, FetchInfo, FetchResponse, HopsafeFetchOptions } from './fetch.js'
export { hopsafeInfo } from './fetch.js'

/** A header list: an object, [name, value] pairs, or anything with `entries()`. */
export type HeadersInit = Record<string, string> | Array<[string, string]> | { entries(): IterableIterator<[string, string]> }

/** Request bodies. Buffers are copied once, so the caller's buffer stays usable. */
export type BodyInit = string | Uint8Array | ArrayBuffer | ArrayBufferView | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>

/** When and how often failed attempts are retried (only where no write can apply twice). */
export interface RetryOptions {
  /** Attempts in total, the first included (1 = never retry; default 3). */
  maxAttempts?: number
  /** Backoff base: attempt n waits a random time below min(maxDelayMs, baseDelayMs * 2^n). */
  baseDelayMs?: number
  /** Largest backoff delay. */
  maxDelayMs?: number
  /** Largest `Retry-After` honoured. */
  maxRetryAfterMs?: number
  /** Response statuses that are retried. */
  statuses?: number[]
  /** Retry POST/PATCH that carry an Idempotency-Key (the server deduplicates them). */
  retryKeyedWrites?: boolean
}

/** Client options; every field is optional. */
export interface ClientOptions {
  /** Headers sent with every request. */
  headers?: HeadersInit
  /** Origins (or `https://*.example.com` patterns) that may receive credentials on a redirect. */
  trustedOrigins?: string[]
  /** Extra header names stripped on cross-origin hops, like Authorization and Cookie. */
  sensitiveHeaders?: string[]
  /**
   * Origins known to deduplicate writes by Idempotency-Key (`http(s)://host[:port]` or
   * `http(s)://*.domain`). Only for these, or when you set the key, is a POST/PATCH that may
   * have reached the server re-sent after a reset, read timeout, 429 or 503.
   */
  keyHonoringOrigins?: string[]
  /** Follow https -> http redirects (refused with `InsecureRedirectError` by default). */
  allowHttpsDowngrade?: boolean
  /** Follow redirects (default true). */
  followRedirects?: boolean
  /** Most redirects followed before `TooManyRedirectsError`; 0 returns the 3xx. */
  maxRedirects?: number
  /**
   * Largest response body read whole, in bytes, by `text()`, `json()`, `arrayBuffer()` and
   * `bytes()`; past it they reject with `ResponseTooLargeError`. Reading `response.body` (the
   * stream) is never capped. Default: none, like fetch/undici.
   */
  maxBodySize?: number
  /** Bytes of a streamed body kept for replay (default 4 MiB); a larger async-iterable/ReadableStream body that needs a 307/308 or retry fails with `BodyNotReplayableError`. */
  replayLimit?: number
  /** Whole-request deadline, every hop and retry included (default none; `null` = none). */
  timeoutMs?: number | null
  /** TCP + TLS connect deadline per attempt (default 10000; `null` = none). */
  connectTimeoutMs?: number | null
  /** Longest wait for the response head or the next body chunk (default 30000; `null` = none). */
  readTimeoutMs?: number | null
  /** Add an Idempotency-Key to POST/PATCH (default true). */
  idempotencyKeys?: boolean
  /** Methods that get a generated key (default `['POST', 'PATCH']`). */
  idempotencyMethods?: string[]
  /** `"quoted"` (the IETF draft's structured-field string, default) or `bare`. */
  idempotencyKeyFormat?: 'quoted' | 'bare'
  /** Retry policy for failed attempts. */
  retry?: RetryOptions
  /** Extra CA certificates, PEM text (the core's `ca_pem`; `ca` as in Node's `tls`). */
  ca?: string
  /** Client certificate chain, PEM, for servers that require one (mutual TLS; `cert` as in Node's `tls`). */
  cert?: string
  /** The client certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1). */
  key?: string
  /** Trust the bundled Mozilla roots (default true); false trusts only `ca`/`caFile`. */
  builtinRoots?: boolean
  /** Also trust the operating system's roots, or SSL_CERT_FILE/SSL_CERT_DIR when set (default true; not on macOS yet). */
  systemRoots?: boolean
  /** Offer HTTP/2 by ALPN on TLS connections (default true). */
  http2?: boolean
  /** Keep cookies from Set-Cookie (redirects included) and send them back by RFC 6265's rules (default false). */
  cookies?: boolean
  /** A proxy for every request: `http://[user:pass@]host:port`, `https://` (TLS to the proxy), `socks5h://` or `socks5://` (overrides the environment). */
  proxy?: string
  /** Hosts the explicit proxy does not serve (`NO_PROXY` syntax, comma separated). */
  noProxy?: string
  /** Read HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY when no proxy is set (default true; never for loopback). */
  trustEnv?: boolean
  /** Extra CA certificates, path of a PEM file. */
  caFile?: string
  /** User-Agent header value. */
  userAgent?: string
  /** Name of the SDK built on hopsafe (Client-SDK header, with `sdkVersion`). */
  sdkName?: string
  /** Version of the SDK built on hopsafe. */
  sdkVersion?: string
  /**
   * Asked before every redirect is followed (after the built-in rules allowed it): return
   * `undefined`/`true`/`'follow'` to follow, `false`/`'stop'` to return the 3xx, or throw to
   * fail the call with `RedirectRejectedError` (the error's message is the reason). May be
   * async; the hop waits until its promise settles, so it must settle (the call's signal and
   * timeout cannot end that wait).
   */
  redirectHook?: (hop: RedirectHop) => RedirectDecision | Promise<RedirectDecision>
}

/** What a redirect hook is shown. */
export interface RedirectHop {
  /** The redirect status. */
  readonly status: number
  /** The URL that answered with the redirect. */
  readonly from: string
  /** The resolved target. */
  readonly to: string
  /** The method that was sent. */
  readonly method: string
  /** The method the next hop will use. */
  readonly nextMethod: string
  /** Redirects already followed in this call. */
  readonly hops: number
}

/** A redirect hook's answer. */
export type RedirectDecision = undefined | void | boolean | 'follow' | 'stop'

/** `hopsafe:request` on diagnostics_channel: a call starts. */
export interface RequestMessage { method: string, origin: string }
/** `hopsafe:hop` on diagnostics_channel: a redirect was followed (origins only, never a path or credential). */
export interface HopMessage {
  status: number
  from: string
  to: string
  method: string
  next_method: string
  dropped: Array<{ name: string, reason: string }>
}
/** `hopsafe:retry` on diagnostics_channel: an attempt is retried after `wait_ms`. */
export interface RetryMessage { attempt: number, failure: string, wait_ms: number, origin: string }

/** One request. `idempotencyKey`: a string uses it, `false` sends none, `true` generates one. */
export interface RequestInit {
  /** HTTP method (default GET). */
  method?: string
  /** Absolute http(s) URL. */
  url: string | URL
  /** Request headers. */
  headers?: HeadersInit
  /** Request body. */
  body?: BodyInit | null
  /** A value sent as JSON (sets content-type); not with `body`. */
  json?: unknown
  /** Override the client's followRedirects. */
  followRedirects?: boolean
  /** Override the client's maxRedirects. */
  maxRedirects?: number
  /** A string uses it, `false` sends none, `true` generates one; default per client. */
  idempotencyKey?: string | boolean
  /** Override the client's timeoutMs. */
  timeoutMs?: number
  /** Override the client's retry policy for this request. */
  retry?: RetryOptions
  /**
   * Aborts the request: rejects with `CancelledError` and drops the connection. After the
   * response arrived, it aborts the body: reads fail with `CancelledError`.
   */
  signal?: AbortSignal
}

/** A header removed before the next hop, and why. */
export interface DroppedHeader {
  readonly name: string
  readonly reason: 'cross-origin' | 'method-changed'
}

/** One redirect followed. */
export interface Hop {
  readonly method: string
  readonly url: string
  readonly status: number
  readonly location: string | null
  readonly idempotencyKey: string | null
  readonly attempts: number
  readonly dropped: readonly DroppedHeader[]
}

/** Case-insensitive response headers. */
export declare class Headers implements Iterable<[string, string]> {
  get (name: string): string | null
  getAll (name: string): string[]
  has (name: string): boolean
  keys (): IterableIterator<string>
  entries (): IterableIterator<[string, string]>
  forEach (fn: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void
  [Symbol.iterator] (): IterableIterator<[string, string]>
}

/**
 * A response after every redirect was followed, at headers (like fetch). Read the body once:
 * through `body`, or whole with `text()`, `json()`, `arrayBuffer()` or `bytes()` (those
 * reject with `ResponseTooLargeError` past the client's `maxBodySize`).
 */
export declare class Response {
  readonly status: number
  readonly ok: boolean
  readonly url: string
  readonly method: string
  readonly httpVersion: string
  readonly headers: Headers
  readonly history: readonly Hop[]
  readonly idempotencyKey: string | null
  readonly attempts: number
  /**
   * The body as a stream: each read pulls one chunk from the network (backpressure), never
   * capped by `maxBodySize`. `for await (const chunk of response.body)` works; cancelling it
   * (or breaking out of the loop, or the request's signal) aborts the transfer.
   */
  readonly body: ReadableStream<Uint8Array>
  /** True once the body was read, or reading it started. */
  readonly bodyUsed: boolean
  bytes (): Promise<Uint8Array>
  arrayBuffer (): Promise<ArrayBuffer>
  text (): Promise<string>
  json<T = unknown> (): Promise<T>
}

/**
 * Redirects followed from one origin to another with one status. Origins are
 * `scheme://host:port`; times are Unix milliseconds; `ageMs` is the time since `firstSeenMs`,
 * so a failover redirect still in place long after its incident stands out.
 */
export interface RedirectCount {
  readonly status: number
  readonly from: string
  readonly to: string
  readonly count: number
  readonly firstSeenMs: number
  readonly lastSeenMs: number
  readonly ageMs: number
}

/** A header removed before a next hop (the name, never a value), and why. */
export interface StrippedCount {
  readonly name: string
  readonly reason: 'cross-origin' | 'method-changed'
  readonly count: number
}

/**
 * Attempts sent again for one reason: `connect`, `refused`, `after_send` (a reset or read
 * timeout after sending), `malformed`, `tls_refused` or `status_NNN`.
 */
export interface RetryCount {
  readonly reason: string
  readonly count: number
}

/**
 * A client's counters since it was built. `writesResentWithKey`: writes re-sent after they may
 * have reached the server, with an idempotency key the server honours; `writesDeliveredTwice`:
 * such re-sends without one, which the retry rules never make (alert on anything but 0).
 * `redirectPairsOverflow` counts redirects to new pairs once 1024 pairs are kept.
 */
export interface Metrics {
  readonly redirects: readonly RedirectCount[]
  readonly redirectPairsOverflow: number
  readonly headersStripped: readonly StrippedCount[]
  readonly retries: readonly RetryCount[]
  readonly writesResentWithKey: number
  readonly writesDeliveredTwice: number
}

type InitWithoutUrl = Omit<RequestInit, 'url' | 'method'>

/** A client with a connection pool. */
export declare class Client {
  constructor (options?: ClientOptions)
  request (init: RequestInit): Promise<Response>
  get (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  head (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  options (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  post (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  put (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  patch (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  delete (url: string | URL, init?: InitWithoutUrl): Promise<Response>
  /** The client's counters so far (shared by every request of this client). */
  metrics (): Metrics
  /** WHATWG `fetch(input, init)` through this client, resolving with Node's own Response. */
  readonly fetch: Fetch
}

/** A refusal: the status (426 or 400) and the problem+json body. */
export interface Denial {
  status: number
  body: string
}

/** A minimum-version pinning policy, evaluated by the hopsafe core. */
export declare class Policy {
  constructor (text: string, format?: 'toml' | 'json')
  static fromFile (path: string): Policy
  evaluate (method: string, path: string, headers: HeadersInit): Denial | null
}

/** Connect/Express-style middleware refusing SDK versions below the policy's minimum. */
export declare function pinning (policy: Policy): (
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
  next: (err?: unknown) => void
) => void

/** A one-off request with a shared default client. */
export declare function request (init: RequestInit): Promise<Response>
/** WHATWG fetch through the shared default client. */
export declare const fetch: Fetch
/** A fetch function bound to `client`. */
export declare function createFetch (client: Client): Fetch
/** The core version compiled into the addon. */
export declare function coreVersion (): string

/**
 * Root of every hopsafe error. Each class is the core's error name with `Error` appended,
 * grouped as the core groups them:
 *
 * ```text
 * HopsafeError                  code, url, history, writeAccepted
 * ├── InvalidInputError         InvalidUrlError, InvalidHeaderError, InvalidMethodError,
 * │                             InvalidConfigError, UnsupportedSchemeError
 * ├── NetworkError              ConnectError, TlsError, TimeoutError (phase), TransportError
 * ├── RedirectError             TooManyRedirectsError, RedirectLoopError, InsecureRedirectError,
 * │                             InvalidLocationError, RedirectRejectedError
 * ├── BodyError                 BodyNotReplayableError, BodyStreamError, ResponseTooLargeError
 * ├── UpgradeRequiredError      sdk, minimumVersion, currentVersion
 * └── CancelledError
 * ```
 */
export declare class HopsafeError extends Error {
  /** `HOPSAFE_` plus the core's error name in upper snake case (`HOPSAFE_TOO_MANY_REDIRECTS`). */
  readonly code: string
  readonly url: string | null
  /** Redirect hops taken before the error, oldest first (network errors included). */
  readonly history: readonly Hop[]
  /**
   * A hop turned the write into a GET (a 303, or a 301/302 answering a POST): the server
   * accepted the write before this error, so sending it again may apply it twice.
   */
  readonly writeAccepted: boolean
}
/** The request or an option cannot be used as given: fix the call, do not retry it. */
export declare class InvalidInputError extends HopsafeError {}
/** No usable answer came back over the connection. */
export declare class NetworkError extends HopsafeError {}
/** The redirect chain breaks a rule (length, loop, downgrade, Location, policy). */
export declare class RedirectError extends HopsafeError {}
/** The request body could not be sent again or read, or the response body is too large. */
export declare class BodyError extends HopsafeError {}
/** The URL could not be parsed or is not absolute. */
export declare class InvalidUrlError extends InvalidInputError {}
/** A header name or value is not valid HTTP (CR, LF, NUL, non-ASCII). */
export declare class InvalidHeaderError extends InvalidInputError {}
/** The method is not a valid HTTP token. */
export declare class InvalidMethodError extends InvalidInputError {}
/** A client option is invalid. */
export declare class InvalidConfigError extends InvalidInputError {}
/** A URL or Location uses a scheme other than http or https. */
export declare class UnsupportedSchemeError extends InvalidInputError {}
/** No connection could be opened; nothing was sent on this hop. */
export declare class ConnectError extends NetworkError {}
/** The TLS handshake failed. */
export declare class TlsError extends NetworkError {}
/** A deadline passed. */
export declare class TimeoutError extends NetworkError { readonly phase?: 'connect' | 'read' | 'total' }
/** The connection failed after the request may have been sent. */
export declare class TransportError extends NetworkError {}
/** The chain was longer than `maxRedirects`. */
export declare class TooManyRedirectsError extends RedirectError {}
/** A redirect pointed back to a request already made in this chain. */
export declare class RedirectLoopError extends RedirectError {}
/** An https URL redirected to http and downgrades are not allowed. */
export declare class InsecureRedirectError extends RedirectError {}
/** A Location header that cannot be followed. */
export declare class InvalidLocationError extends RedirectError {}
/** The redirect policy refused a hop. */
export declare class RedirectRejectedError extends RedirectError {}
/** A 307/308 needs the body again but the stream was larger than `replayLimit`. */
export declare class BodyNotReplayableError extends BodyError {}
/** Reading the request body failed. */
export declare class BodyStreamError extends BodyError {}
/** The response body was larger than the limit. */
export declare class ResponseTooLargeError extends BodyError {}
/** The server requires a newer SDK (426). */
export declare class UpgradeRequiredError extends HopsafeError {
  readonly minimumVersion?: string
  readonly currentVersion?: string
  readonly sdk?: string
}
/** The request was cancelled (an aborted `signal`). */
export declare class CancelledError extends HopsafeError {}
