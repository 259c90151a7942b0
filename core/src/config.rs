//! Everything a client decides by default, and the state a client shares with its clones.

use std::time::Duration;

use http::HeaderMap;

use crate::credentials::CredentialPolicy;
use crate::idempotency::IdempotencyConfig;
use crate::redirect::Policy;
use crate::retry::RetryPolicy;
use crate::sdk_identity::{IdentityHeaders, SdkIdentity};
use crate::transport::{Transport, TransportConfig};

pub use crate::redirect::DEFAULT_MAX_REDIRECTS;
/// Default size of the buffer that keeps a streamed body for a 307/308 or retry.
pub const DEFAULT_REPLAY_LIMIT: usize = 4 * 1024 * 1024;
/// Default longest wait for a response head or the next body chunk.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this much of a 3xx body is read (raw, never decoded) to reuse the connection.
pub const REDIRECT_BODY_DRAIN_LIMIT: usize = 64 * 1024;

/// Everything a client decides by default.
#[derive(Clone)]
pub(crate) struct Config {
    pub redirect: Policy,
    pub credentials: CredentialPolicy,
    pub replay_limit: usize,
    pub read_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub max_body_size: Option<u64>,
    pub idempotency: IdempotencyConfig,
    pub retry: RetryPolicy,
    pub default_headers: HeaderMap,
    /// What every request starts from: the default headers with `User-Agent`, `Client-SDK`
    /// and credential marking applied ([`Config::prepare_base_headers`]), so a request
    /// without headers of its own costs one map clone.
    pub base_headers: HeaderMap,
    /// The names in [`Config::base_headers`], shared by every response that sent just those.
    pub base_header_names: std::sync::Arc<[http::HeaderName]>,
    /// The same names and `Idempotency-Key` after them: what a request sent that added a key
    /// to the base headers.
    pub base_header_names_keyed: std::sync::Arc<[http::HeaderName]>,
    /// Whether [`Config::base_headers`] hold an `Idempotency-Key` (decided once per client).
    pub base_has_key: bool,
    pub identity: SdkIdentity,
    pub identity_headers: IdentityHeaders,
    pub transport: TransportConfig,
    /// The cookie jar, when cookies are on (shared by the client's clones).
    pub cookies: Option<std::sync::Arc<crate::cookies::Jar>>,
}

impl Default for Config {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        if let Some(enc) = crate::decode::ACCEPT_ENCODING {
            default_headers.insert(
                http::header::ACCEPT_ENCODING,
                http::HeaderValue::from_static(enc),
            );
        }
        let mut config = Config {
            redirect: Policy::default(),
            credentials: CredentialPolicy::default(),
            replay_limit: DEFAULT_REPLAY_LIMIT,
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            timeout: None,
            max_body_size: None,
            idempotency: IdempotencyConfig::default(),
            retry: RetryPolicy::default(),
            default_headers,
            base_headers: HeaderMap::new(),
            base_header_names: std::sync::Arc::from(Vec::new()),
            base_header_names_keyed: std::sync::Arc::from(Vec::new()),
            base_has_key: false,
            identity: SdkIdentity::default(),
            identity_headers: IdentityHeaders::new(&SdkIdentity::default(), None),
            transport: TransportConfig::default(),
            cookies: None,
        };
        config.prepare_base_headers();
        config
    }
}

impl Config {
    /// Recomputes [`Config::base_headers`] after the defaults, identity or credential
    /// headers changed.
    pub fn prepare_base_headers(&mut self) {
        let mut base = HeaderMap::with_capacity(self.default_headers.len() + 2);
        base.extend(self.default_headers.clone());
        self.identity_headers.apply(&mut base);
        self.credentials.mark_sensitive(&mut base);
        self.base_header_names = base.keys().cloned().collect();
        let key = std::iter::once(crate::idempotency::IDEMPOTENCY_KEY);
        self.base_header_names_keyed = base.keys().cloned().chain(key).collect();
        self.base_has_key = base.contains_key(crate::idempotency::IDEMPOTENCY_KEY);
        self.base_headers = base;
    }
}

/// What every clone of a client shares: its configuration, its connection pool and its
/// counters (the counters, and the cookie jar in the configuration, are also shared with
/// [`crate::Client::with_own_connections`]).
pub(crate) struct Inner {
    pub config: Config,
    pub transport: Transport,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}
