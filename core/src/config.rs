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
        Config {
            redirect: Policy::default(),
            credentials: CredentialPolicy::default(),
            replay_limit: DEFAULT_REPLAY_LIMIT,
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            timeout: None,
            max_body_size: None,
            idempotency: IdempotencyConfig::default(),
            retry: RetryPolicy::default(),
            default_headers,
            identity: SdkIdentity::default(),
            identity_headers: IdentityHeaders::new(&SdkIdentity::default(), None),
            transport: TransportConfig::default(),
            cookies: None,
        }
    }
}

/// What every clone of a client shares: its configuration and its connection pool.
pub(crate) struct Inner {
    pub config: Config,
    pub transport: Transport,
}
