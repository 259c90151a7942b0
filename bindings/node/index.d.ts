/** hopsafe: HTTP writes that survive redirects (Rust core). */

/** A header list: an object, [name, value] pairs, or anything with `entries()`. */
export type HeadersInit = Record<string, string> | Array<[string, string]> | { entries(): IterableIterator<[string, string]> }

/** Request bodies. Buffers are copied once, so the caller's buffer stays usable. */
export type BodyInit = string | Uint8Array | ArrayBuffer | ArrayBufferView | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>

/** When and how often failed attempts are retried (only where no write can apply twice). */
export interface RetryOptions {
  maxAttempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  maxRetryAfterMs?: number
  statuses?: number[]
  retryKeyedWrites?: boolean
}

/** Client options; every field is optional. */
export interface ClientOptions {
  headers?: HeadersInit
  trustedOrigins?: string[]
  sensitiveHeaders?: string[]
  allowHttpsDowngrade?: boolean
  followRedirects?: boolean
  maxRedirects?: number
  replayLimit?: number
  timeoutMs?: number
  connectTimeoutMs?: number
  readTimeoutMs?: number
  idempotencyKeys?: boolean
  idempotencyKeyFormat?: 'quoted' | 'bare'
  retry?: RetryOptions
  /** Extra CA certificates, PEM text. */
  ca?: string
  /** Extra CA certificates, path of a PEM file. */
  caFile?: string
  userAgent?: string
  sdkName?: string
  sdkVersion?: string
}

/** One request. `idempotencyKey`: a string uses it, `false` sends none, `true` generates one. */
export interface RequestInit {
  method?: string
  url: string | URL
  headers?: HeadersInit
  body?: BodyInit | null
  json?: unknown
  followRedirects?: boolean
  maxRedirects?: number
  idempotencyKey?: string | boolean
  timeoutMs?: number
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

/** A response after every redirect was followed. */
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
  bytes (): Promise<Uint8Array>
  arrayBuffer (): Promise<ArrayBuffer>
  text (): Promise<string>
  json<T = unknown> (): Promise<T>
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
/** The core version compiled into the addon. */
export declare function coreVersion (): string

/** Root of every hopsafe error. */
export declare class HopsafeError extends Error {
  readonly code: string
  readonly url: string | null
  readonly history: readonly Hop[]
}
export declare class InvalidUrl extends HopsafeError {}
export declare class InvalidHeader extends HopsafeError {}
export declare class InvalidMethod extends HopsafeError {}
export declare class InvalidConfig extends HopsafeError {}
export declare class Connect extends HopsafeError {}
export declare class Tls extends HopsafeError {}
export declare class Timeout extends HopsafeError { readonly phase?: 'connect' | 'read' | 'total' }
export declare class Transport extends HopsafeError {}
export declare class TooManyRedirects extends HopsafeError {}
export declare class RedirectLoop extends HopsafeError {}
export declare class InsecureRedirect extends HopsafeError {}
export declare class UnsupportedScheme extends HopsafeError {}
export declare class InvalidLocation extends HopsafeError {}
export declare class BodyNotReplayable extends HopsafeError {}
export declare class BodyStream extends HopsafeError {}
export declare class ResponseTooLarge extends HopsafeError {}
export declare class RedirectRejected extends HopsafeError {}
export declare class UpgradeRequired extends HopsafeError {
  readonly minimumVersion?: string
  readonly currentVersion?: string
  readonly sdk?: string
}
export declare class Cancelled extends HopsafeError {}
