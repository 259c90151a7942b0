//! Client configuration records and their translation into a `hopsafe::ClientBuilder`.

use std::time::Duration;

use hopsafe::{Client, KeyFormat, RetryPolicy};

use crate::error::HopsafeError;
use crate::types::Header;

/// How the `Idempotency-Key` header is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IdempotencyKeyFormat {
    /// A Structured Field string, as the IETF draft specifies: `"8e03..."`.
    Quoted,
    /// The bare key, as Stripe-style servers expect: `8e03...`.
    Bare,
}

/// Retry settings. Every field has the core's default.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RetryConfig {
    /// Attempts in total, the first included (1 = never retry).
    #[uniffi(default = 3)]
    pub max_attempts: u32,
    /// Backoff base in milliseconds.
    #[uniffi(default = 100)]
    pub base_delay_ms: u64,
    /// Upper bound of the computed backoff in milliseconds.
    #[uniffi(default = 5000)]
    pub max_delay_ms: u64,
    /// The longest `Retry-After` honoured, in milliseconds.
    #[uniffi(default = 30000)]
    pub max_retry_after_ms: u64,
    /// Statuses that are retried; `null`/`nil` keeps the core default (429, 503).
    #[uniffi(default)]
    pub statuses: Option<Vec<u16>>,
    /// Retry writes that carry an idempotency key.
    #[uniffi(default = true)]
    pub retry_keyed_writes: bool,
}

impl From<RetryConfig> for RetryPolicy {
    fn from(r: RetryConfig) -> Self {
        let base = RetryPolicy::default();
        RetryPolicy {
            max_attempts: r.max_attempts,
            base_delay: Duration::from_millis(r.base_delay_ms),
            max_delay: Duration::from_millis(r.max_delay_ms),
            max_retry_after: Duration::from_millis(r.max_retry_after_ms),
            statuses: r.statuses.unwrap_or(base.statuses),
            retry_keyed_writes: r.retry_keyed_writes,
            ..base
        }
    }
}

/// Everything a client can be configured with. Every field has the core's default, so
/// `ClientConfig()` is a valid configuration.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// https origins (`https://host[:port]`, or a `*.domain` wildcard after the scheme) trusted to receive
    /// credentials across redirects.
    #[uniffi(default)]
    pub trusted_origins: Vec<String>,
    /// Extra header names treated as credentials (stripped on cross-origin hops).
    #[uniffi(default)]
    pub sensitive_headers: Vec<String>,
    /// Origins known to deduplicate writes by `Idempotency-Key` (`http(s)://host[:port]`, or a
    /// `*.domain` wildcard after the scheme). Only for these (or when you set the key yourself)
    /// is a POST/PATCH that may have reached the server re-sent after a reset, read timeout,
    /// 429 or 503.
    #[uniffi(default)]
    pub key_honoring_origins: Vec<String>,
    /// Allow https to http redirects.
    #[uniffi(default = false)]
    pub allow_https_downgrade: bool,
    /// Follow redirects at all.
    #[uniffi(default = true)]
    pub follow_redirects: bool,
    /// Maximum redirects per chain (0 = never follow).
    #[uniffi(default = 20)]
    pub max_redirects: u32,
    /// Generate idempotency keys for POST and PATCH.
    #[uniffi(default = true)]
    pub idempotency_keys: bool,
    /// Methods that get a generated key; `null`/`nil` = POST and PATCH.
    #[uniffi(default)]
    pub idempotency_methods: Option<Vec<String>>,
    /// Wire format of the idempotency key; `null`/`nil` = quoted.
    #[uniffi(default)]
    pub idempotency_key_format: Option<IdempotencyKeyFormat>,
    /// Retry policy; `null`/`nil` = the core default (3 attempts where safe).
    #[uniffi(default)]
    pub retry: Option<RetryConfig>,
    /// Extra trusted CA certificates (PEM text), on top of the built-in roots.
    #[uniffi(default)]
    pub ca_pem: Option<String>,
    /// Client certificate chain (PEM) for servers that require one (mutual TLS).
    #[uniffi(default)]
    pub client_cert_pem: Option<String>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[uniffi(default)]
    pub client_key_pem: Option<String>,
    /// Trust the bundled Mozilla roots; false trusts only `ca_pem`.
    #[uniffi(default = true)]
    pub builtin_roots: bool,
    /// Also trust the operating system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` when set; on
    /// Android the system store; not on Apple builds yet).
    #[uniffi(default = true)]
    pub system_roots: bool,
    /// Offer HTTP/2 by ALPN on TLS connections.
    #[uniffi(default = true)]
    pub http2: bool,
    /// Headers sent with every request.
    #[uniffi(default)]
    pub headers: Vec<Header>,
    /// Keep cookies: `Set-Cookie` from every response (redirects included) is stored and sent
    /// back by RFC 6265's rules.
    #[uniffi(default = false)]
    pub cookies: bool,
    /// A proxy for every request: `http://[user:pass@]host:port`, `https://` (TLS to the
    /// proxy), `socks5h://` or `socks5://` (overrides the environment).
    #[uniffi(default)]
    pub proxy: Option<String>,
    /// Hosts the explicit proxy does not serve (`NO_PROXY` syntax, comma separated).
    #[uniffi(default)]
    pub no_proxy: Option<String>,
    /// Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` when no proxy is set
    /// (never for loopback destinations).
    #[uniffi(default = true)]
    pub trust_env: bool,
    /// Connect timeout in ms; `null`/`nil` = 10 s, 0 = none.
    #[uniffi(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Read timeout in ms (headers, or the next body chunk); `null`/`nil` = 30 s, 0 = none.
    #[uniffi(default)]
    pub read_timeout_ms: Option<u64>,
    /// Total deadline per call in ms, redirects and retries included; `null`/`nil` or 0 = none.
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
    /// Largest response body read whole (`request`), in bytes; past it `ResponseTooLarge`.
    /// Streamed reads (`stream`/`open`) are not capped. `null`/`nil` = no limit.
    #[uniffi(default)]
    pub max_body_size: Option<u64>,
    /// Bytes of a body kept for replaying on 307/308 and retries; `null`/`nil` = 4 MiB.
    #[uniffi(default)]
    pub replay_limit: Option<u64>,
    /// `User-Agent` prefix; hopsafe appends its own products (SDK, core, runtime) after it.
    #[uniffi(default)]
    pub user_agent: Option<String>,
    /// Your SDK or app name (e.g. `acme-android`), sent in `Client-SDK` and `User-Agent` so
    /// servers can pin a minimum version; `null`/`nil` = `hopsafe`. Needs `sdk_version`.
    #[uniffi(default)]
    pub sdk_name: Option<String>,
    /// Your SDK or app version (SemVer, e.g. `2.4.0`); `null`/`nil` = the core version.
    #[uniffi(default)]
    pub sdk_version: Option<String>,
}

/// The language and runtime of the binding a client is built from: set by the Kotlin and
/// Swift code shipped with hopsafe (`HopsafeClient(config)`), not by applications.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BindingPlatform {
    /// The `Client-SDK` language token: `kotlin` or `swift`.
    pub language: String,
    /// The runtime product for `User-Agent`, e.g. `jvm/17.0.9`, `android/34`, `swift/6.0`.
    pub runtime: Option<String>,
}

/// `Some(0)` means "no timeout" (OkHttp's and URLSession's idiom); `None` keeps the core
/// default (`default` returned).
fn timeout(ms: Option<u64>, default: Option<Duration>) -> Option<Duration> {
    match ms {
        None => default,
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
    }
}

impl From<ClientConfig> for hopsafe::ClientConfig {
    /// Field by field into the core's one option model (milliseconds to durations).
    fn from(c: ClientConfig) -> Self {
        let d = hopsafe::ClientConfig::default();
        hopsafe::ClientConfig {
            headers: c.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            trusted_origins: c.trusted_origins,
            sensitive_headers: c.sensitive_headers,
            key_honoring_origins: c.key_honoring_origins,
            allow_https_downgrade: c.allow_https_downgrade,
            follow_redirects: c.follow_redirects,
            max_redirects: c.max_redirects,
            replay_limit: c.replay_limit.unwrap_or(d.replay_limit),
            max_body_size: c.max_body_size,
            timeout: timeout(c.timeout_ms, d.timeout),
            connect_timeout: timeout(c.connect_timeout_ms, d.connect_timeout),
            read_timeout: timeout(c.read_timeout_ms, d.read_timeout),
            idempotency_keys: c.idempotency_keys,
            idempotency_methods: c.idempotency_methods.unwrap_or(d.idempotency_methods),
            idempotency_key_format: match c.idempotency_key_format {
                Some(IdempotencyKeyFormat::Bare) => KeyFormat::Bare,
                Some(IdempotencyKeyFormat::Quoted) | None => KeyFormat::Quoted,
            },
            retry: c.retry.map(RetryPolicy::from).unwrap_or(d.retry),
            ca_pem: c.ca_pem,
            client_cert_pem: c.client_cert_pem,
            client_key_pem: c.client_key_pem,
            builtin_roots: c.builtin_roots,
            system_roots: c.system_roots,
            http2: c.http2,
            cookies: c.cookies,
            proxy: c.proxy,
            no_proxy: c.no_proxy,
            trust_env: c.trust_env,
            user_agent: c.user_agent,
            sdk_name: c.sdk_name,
            sdk_version: c.sdk_version,
        }
    }
}

impl ClientConfig {
    /// Builds a core client; the first invalid option becomes the error.
    pub(crate) fn build(
        self,
        platform: BindingPlatform,
        hook: Option<std::sync::Arc<dyn crate::hook::RedirectHook>>,
    ) -> Result<Client, HopsafeError> {
        let mut b = hopsafe::ClientConfig::from(self)
            .into_builder()?
            .sdk_language(&platform.language, platform.runtime.as_deref());
        if let Some(hook) = hook {
            b = b.redirect_hook(crate::hook::to_core(hook));
        }
        let _rt = hopsafe::runtime::shared().enter();
        Ok(b.build()?)
    }
}
