//! Client configuration records and their translation into a `hopsafe::ClientBuilder`.

use std::time::Duration;

use hopsafe::{Client, KeyFormat, RetryPolicy};

use crate::error::HopsafeError;

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
    /// Wire format of the idempotency key; `null`/`nil` = quoted.
    #[uniffi(default)]
    pub idempotency_key_format: Option<IdempotencyKeyFormat>,
    /// Retry policy; `null`/`nil` = the core default (3 attempts where safe).
    #[uniffi(default)]
    pub retry: Option<RetryConfig>,
    /// Extra trusted CA certificates (PEM text), on top of the built-in roots.
    #[uniffi(default)]
    pub ca_pem: Option<String>,
    /// Connect timeout in ms; `null`/`nil` = 10 s, 0 = none.
    #[uniffi(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Read timeout in ms (headers, or the next body chunk); `null`/`nil` = 30 s, 0 = none.
    #[uniffi(default)]
    pub read_timeout_ms: Option<u64>,
    /// Total deadline per call in ms, redirects and retries included; `null`/`nil` or 0 = none.
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
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

/// `Some(0)` means "no timeout"; `None` keeps the core default (`None` returned).
fn timeout(ms: Option<u64>) -> Option<Option<Duration>> {
    ms.map(|ms| (ms > 0).then(|| Duration::from_millis(ms)))
}

impl ClientConfig {
    /// Builds a core client; the first invalid option becomes the error.
    pub(crate) fn build(self, platform: BindingPlatform) -> Result<Client, HopsafeError> {
        let mut b = Client::builder()
            .follow_redirects(self.follow_redirects)
            .max_redirects(self.max_redirects)
            .allow_https_downgrade(self.allow_https_downgrade)
            .idempotency_keys(self.idempotency_keys);
        for o in &self.trusted_origins {
            b = b.trust_origin(o);
        }
        for h in &self.sensitive_headers {
            b = b.sensitive_header(h);
        }
        for o in &self.key_honoring_origins {
            b = b.key_honoring_origin(o);
        }
        if let Some(f) = self.idempotency_key_format {
            b = b.idempotency_key_format(match f {
                IdempotencyKeyFormat::Quoted => KeyFormat::Quoted,
                IdempotencyKeyFormat::Bare => KeyFormat::Bare,
            });
        }
        if let Some(r) = self.retry {
            b = b.retry(r.into());
        }
        if let Some(pem) = &self.ca_pem {
            b = b.add_root_certificates_pem(pem.as_bytes());
        }
        if let Some(d) = timeout(self.connect_timeout_ms) {
            b = b.connect_timeout(d);
        }
        if let Some(d) = timeout(self.read_timeout_ms) {
            b = b.read_timeout(d);
        }
        if let Some(d) = timeout(self.timeout_ms) {
            b = b.timeout(d);
        }
        if let Some(n) = self.replay_limit {
            b = b.replay_buffer_limit(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(ua) = &self.user_agent {
            b = b.user_agent(ua);
        }
        match (&self.sdk_name, &self.sdk_version) {
            (Some(n), Some(v)) => b = b.sdk(n, v),
            (None, None) => {}
            _ => {
                return Err(hopsafe::Error::InvalidConfig {
                    reason: "set sdk_name and sdk_version together".into(),
                }
                .into())
            }
        }
        b = b.sdk_language(&platform.language, platform.runtime.as_deref());
        let _rt = hopsafe::runtime::shared().enter();
        Ok(b.build()?)
    }
}
