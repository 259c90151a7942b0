// ESM entry point: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const hopsafe = createRequire(import.meta.url)('./index.js')

export default hopsafe
export const {
  Client, Headers, Response, Policy, pinning, request, coreVersion, HopsafeError, InvalidUrl, InvalidHeader,
  InvalidMethod, InvalidConfig, Connect, Tls, Timeout, Transport, TooManyRedirects, RedirectLoop,
  InsecureRedirect, UnsupportedScheme, InvalidLocation, BodyNotReplayable, BodyStream,
  ResponseTooLarge, RedirectRejected, UpgradeRequired, Cancelled,
} = hopsafe
