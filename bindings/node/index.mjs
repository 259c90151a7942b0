// ESM entry point: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const hopsafe = createRequire(import.meta.url)('./index.js')

export default hopsafe
export const {
  Client, Headers, Response, Policy, pinning, request, fetch, createFetch, hopsafeInfo, coreVersion, HopsafeError, InvalidInputError,
  NetworkError, RedirectError, BodyError, InvalidUrlError, InvalidHeaderError, InvalidMethodError,
  InvalidConfigError, UnsupportedSchemeError, ConnectError, TlsError, TimeoutError, TransportError,
  TooManyRedirectsError, RedirectLoopError, InsecureRedirectError, InvalidLocationError,
  RedirectRejectedError, BodyNotReplayableError, BodyStreamError, ResponseTooLargeError,
  UpgradeRequiredError, CancelledError,
} = hopsafe
