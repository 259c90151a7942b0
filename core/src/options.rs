//! The client's options as one plain value: [`ClientConfig`], with every default documented
//! and a serde form (durations in seconds, as numbers). Every binding converts its own
//! options into this value, so there is one list of options and one translation into a
//! [`ClientBuilder`]; the parity test reads the list from [`ClientConfig::default`].
//!
//! What cannot be data (a redirect hook, a custom redirect policy, the binding's language
//! token) stays on the builder.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientBuilder};
use crate::error::{Error, Result};
use crate::idempotency::KeyFormat;
use crate::retry::RetryPolicy;

/// Every data option of a client. `ClientConfig::default()` is the default client.
///
/// In the serde form every field is optional (absent = the default below), durations are
/// seconds as numbers, `null` for a duration means "no deadline", and unknown fields are
/// refused.
///
/// ```
/// let config: hopsafe::ClientConfig = serde_json::from_str(
///     r#"{"trusted_origins": ["https://api.example.com"], "read_timeout": 5}"#,
/// )?;
/// let client = config.build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Headers sent with every request (name, value). Default: none besides
    /// `Accept-Encoding` and the SDK identity.
    pub headers: Vec<(String, String)>,
    /// Origins (`https://host[:port]`, or `https://*.domain`) that keep credentials on a
    /// cross-origin redirect. Default: none.
    pub trusted_origins: Vec<String>,
    /// Extra header names treated as credentials (stripped across origins), beside
    /// `Authorization`, `Proxy-Authorization` and `Cookie`. Default: none.
    pub sensitive_headers: Vec<String>,
    /// Origins (`http(s)://host[:port]` or `http(s)://*.domain`) known to deduplicate writes
    /// by `Idempotency-Key`; only for these (or a caller-set key) is a write that may have
    /// reached the server re-sent. Default: none.
    pub key_honoring_origins: Vec<String>,
    /// Follow https → http redirects. Default: false (`InsecureRedirect`).
    pub allow_https_downgrade: bool,
    /// Follow redirects at all. Default: true.
    pub follow_redirects: bool,
    /// Most redirects per chain; 0 returns the first 3xx. Default: 20.
    pub max_redirects: u32,
    /// Bytes of a streamed request body kept to replay it on a 307/308 or retry. Default: 4 MiB.
    pub replay_limit: u64,
    /// Largest response body read whole (`bytes()`, `text()`, the bindings' buffered
    /// reads), in bytes; past it `ResponseTooLarge`. Streamed reads are not capped.
    /// Default: none (as requests, httpx, undici, OkHttp and URLSession).
    pub max_body_size: Option<u64>,
    /// Deadline for a whole call, redirects and retries included. Default: none.
    #[serde(with = "crate::units::secs")]
    pub timeout: Option<Duration>,
    /// TCP + TLS connect deadline per attempt. Default: 10 s.
    #[serde(with = "crate::units::secs")]
    pub connect_timeout: Option<Duration>,
    /// Longest wait for the response head or the next body chunk. Default: 30 s.
    #[serde(with = "crate::units::secs")]
    pub read_timeout: Option<Duration>,
    /// Add a generated `Idempotency-Key` to requests with these methods. Default: true.
    pub idempotency_keys: bool,
    /// The methods that get a generated key. Default: `POST`, `PATCH` (PUT and DELETE are
    /// idempotent by definition).
    pub idempotency_methods: Vec<String>,
    /// Wire format of the key: `quoted` (the IETF draft's structured-field string) or `bare`.
    /// Default: quoted.
    pub idempotency_key_format: KeyFormat,
    /// When failed attempts are retried. Default: [`RetryPolicy::default`].
    pub retry: RetryPolicy,
    /// Extra trusted CA certificates, PEM text. Default: none.
    pub ca_pem: Option<String>,
    /// A client certificate chain (PEM) presented to servers that ask for one (mutual TLS).
    /// Needs `client_key_pem`. Default: none.
    pub client_cert_pem: Option<String>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1). Default: none.
    pub client_key_pem: Option<String>,
    /// Trust the bundled Mozilla roots (webpki-roots). Default: true.
    pub builtin_roots: bool,
    /// Also trust the operating system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` when set; not
    /// on Apple builds yet). Default: true.
    pub system_roots: bool,
    /// Offer HTTP/2 by ALPN on TLS connections. Default: true.
    pub http2: bool,
    /// Keep cookies: `Set-Cookie` from every response (redirects included) is stored and sent
    /// back by RFC 6265's rules. Default: false.
    pub cookies: bool,
    /// A proxy for every request: `http://[user:pass@]host:port`, `https://` (TLS to the
    /// proxy), `socks5h://` or `socks5://`; overrides the environment. Default: none.
    pub proxy: Option<String>,
    /// Hosts the explicit proxy does not serve (`NO_PROXY` syntax). Default: none.
    pub no_proxy: Option<String>,
    /// Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` when no proxy is set (never
    /// for loopback destinations). Default: true.
    pub trust_env: bool,
    /// A `User-Agent` prefix; hopsafe appends its own products. Default: none.
    pub user_agent: Option<String>,
    /// Your SDK or app name, sent in `Client-SDK` and `User-Agent` so servers can pin a
    /// minimum version. Needs `sdk_version`. Default: `hopsafe`.
    pub sdk_name: Option<String>,
    /// Your SDK or app version (SemVer). Needs `sdk_name`. Default: the core's version.
    pub sdk_version: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            headers: Vec::new(),
            trusted_origins: Vec::new(),
            sensitive_headers: Vec::new(),
            key_honoring_origins: Vec::new(),
            allow_https_downgrade: false,
            follow_redirects: true,
            max_redirects: crate::redirect::DEFAULT_MAX_REDIRECTS,
            replay_limit: crate::config::DEFAULT_REPLAY_LIMIT as u64,
            max_body_size: None,
            timeout: None,
            connect_timeout: Some(crate::transport::DEFAULT_CONNECT_TIMEOUT),
            read_timeout: Some(crate::config::DEFAULT_READ_TIMEOUT),
            idempotency_keys: true,
            idempotency_methods: vec!["POST".into(), "PATCH".into()],
            idempotency_key_format: KeyFormat::Quoted,
            retry: RetryPolicy::default(),
            ca_pem: None,
            client_cert_pem: None,
            client_key_pem: None,
            builtin_roots: true,
            system_roots: true,
            http2: true,
            cookies: false,
            proxy: None,
            no_proxy: None,
            trust_env: true,
            user_agent: None,
            sdk_name: None,
            sdk_version: None,
        }
    }
}

impl ClientConfig {
    /// A builder with these options, for what only a builder can take (hooks, policies).
    pub fn into_builder(self) -> Result<ClientBuilder> {
        let mut b = Client::builder()
            .allow_https_downgrade(self.allow_https_downgrade)
            .follow_redirects(self.follow_redirects)
            .max_redirects(self.max_redirects)
            .replay_buffer_limit(usize::try_from(self.replay_limit).unwrap_or(usize::MAX))
            .max_body_size(self.max_body_size)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .idempotency_keys(self.idempotency_keys)
            .idempotency_methods(
                &self
                    .idempotency_methods
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .idempotency_key_format(self.idempotency_key_format)
            .retry(self.retry)
            .builtin_roots(self.builtin_roots)
            .system_roots(self.system_roots)
            .http2(self.http2)
            .trust_env(self.trust_env)
            .cookie_store(self.cookies);
        if let Some(p) = &self.proxy {
            b = b.proxy(p);
        }
        if let Some(n) = &self.no_proxy {
            b = b.no_proxy(n);
        }
        for (name, value) in &self.headers {
            b = b.default_header(name, value);
        }
        for t in &self.trusted_origins {
            b = b.trust_origin(t);
        }
        for h in &self.sensitive_headers {
            b = b.sensitive_header(h);
        }
        for o in &self.key_honoring_origins {
            b = b.key_honoring_origin(o);
        }
        if let Some(pem) = &self.ca_pem {
            b = b.add_root_certificates_pem(pem.as_bytes());
        }
        match (&self.client_cert_pem, &self.client_key_pem) {
            (Some(c), Some(k)) => b = b.client_certificate_pem(c.as_bytes(), k.as_bytes()),
            (None, None) => {}
            _ => {
                return Err(Error::invalid_config(
                    "set client_cert_pem and client_key_pem together",
                ))
            }
        }
        if let Some(ua) = &self.user_agent {
            b = b.user_agent(ua);
        }
        match (&self.sdk_name, &self.sdk_version) {
            (Some(n), Some(v)) => b = b.sdk(n, v),
            (None, None) => {}
            _ => {
                return Err(Error::invalid_config(
                    "set sdk_name and sdk_version together",
                ))
            }
        }
        Ok(b)
    }

    /// Builds a client with these options.
    pub fn build(self) -> Result<Client> {
        self.into_builder()?.build()
    }

    /// The option names, in the core's snake_case spelling, sorted: the list
    /// every binding must expose (checked by the conformance crate's parity test).
    pub fn option_names() -> Vec<String> {
        match serde_json::to_value(ClientConfig::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    /// The serde form, with every secret redacted: the client key, proxy credentials, and
    /// the values of credential headers among the default headers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        if self.client_key_pem.is_some() {
            v["client_key_pem"] = "<redacted>".into();
        }
        if let Some(p) = &self.proxy {
            v["proxy"] = crate::credentials::redact_userinfo(p).into();
        }
        let secret = |name: &str| {
            crate::credentials::DEFAULT_SENSITIVE_HEADERS
                .iter()
                .any(|h| h.as_str().eq_ignore_ascii_case(name))
                || self
                    .sensitive_headers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(name))
        };
        v["headers"] = self
            .headers
            .iter()
            .map(|(k, val)| {
                let shown = if secret(k) {
                    "<redacted>"
                } else {
                    val.as_str()
                };
                serde_json::json!([k, shown])
            })
            .collect();
        write!(f, "ClientConfig {v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serde_form_round_trips_with_every_default() {
        let json = serde_json::to_value(ClientConfig::default()).unwrap();
        assert_eq!(json["connect_timeout"], 10.0);
        assert_eq!(json["read_timeout"], 30.0);
        assert!(json["timeout"].is_null());
        assert_eq!(json["idempotency_key_format"], "quoted");
        assert_eq!(json["retry"]["base_delay"], 0.1);
        let back: ClientConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, ClientConfig::default());
        let empty: ClientConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ClientConfig::default());
    }

    #[test]
    fn absent_is_the_default_and_null_is_no_deadline() {
        let c: ClientConfig = serde_json::from_str(r#"{"read_timeout": null}"#).unwrap();
        assert_eq!(c.read_timeout, None);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(10)));
        let c: ClientConfig =
            serde_json::from_str(r#"{"retry": {"max_attempts": 1}, "timeout": 1.5}"#).unwrap();
        assert_eq!(c.retry.max_attempts, 1);
        assert_eq!(c.retry.base_delay, Duration::from_millis(100));
        assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        for (doc, says) in [
            (r#"{"timout": 1}"#, "unknown field `timout`"),
            (r#"{"timeout": -1}"#, "non-negative number of seconds"),
            (
                r#"{"idempotency_key_format": "loud"}"#,
                "unknown variant `loud`",
            ),
            (r#"{"retry": {"base_delay": null}}"#, "required"),
        ] {
            let e = serde_json::from_str::<ClientConfig>(doc).unwrap_err();
            assert!(e.to_string().contains(says), "{doc}: {e}");
        }
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let c = ClientConfig {
            client_cert_pem: Some("CERT".into()),
            client_key_pem: Some("-----BEGIN PRIVATE KEY-----hunter2".into()),
            proxy: Some("http://user:hunter2@proxy:3128".into()),
            headers: vec![
                ("Authorization".into(), "Bearer hunter2".into()),
                ("X-Api-Key".into(), "hunter2".into()),
                ("Accept".into(), "text/plain".into()),
            ],
            sensitive_headers: vec!["x-api-key".into()],
            ..ClientConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("text/plain") && shown.contains("CERT"),
            "{shown}"
        );
    }

    #[test]
    fn sdk_name_and_version_go_together() {
        let c = ClientConfig {
            sdk_name: Some("acme".into()),
            ..ClientConfig::default()
        };
        assert!(matches!(c.build(), Err(Error::InvalidConfig { .. })));
    }

    #[test]
    fn option_names_are_the_fields() {
        let names = ClientConfig::option_names();
        assert_eq!(
            names.first().map(String::as_str),
            Some("allow_https_downgrade")
        );
        assert!(names.iter().any(|n| n == "key_honoring_origins"));
        assert_eq!(names.len(), 29);
    }
}
