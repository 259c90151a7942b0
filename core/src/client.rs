//! The client, its builder, and a per-request builder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::body::Body;
use crate::config::{Config, Inner};
use crate::error::{Error, Result};
use crate::idempotency::{KeyChoice, KeyFormat};
use crate::origin::TrustedOrigin;
use crate::redirect::{RedirectAction, RedirectAttempt};
use crate::request::{parse_header, parse_method, parse_url, Request};
use crate::response::Response;
use crate::retry::RetryPolicy;
use crate::sdk_identity::IdentityHeaders;

pub use crate::config::{DEFAULT_MAX_REDIRECTS, DEFAULT_REPLAY_LIMIT, REDIRECT_BODY_DRAIN_LIMIT};

/// An HTTP client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default settings.
    pub fn new() -> Result<Client> {
        ClientBuilder::new().build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Starts a request.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder {
        let req = parse_method(method).and_then(|m| Ok(Request::new(m, parse_url(url)?)));
        RequestBuilder {
            client: self.clone(),
            req,
        }
    }

    /// Starts a GET.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request("GET", url)
    }

    /// Starts a POST.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request("POST", url)
    }

    /// Starts a PUT.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request("PUT", url)
    }

    /// Starts a PATCH.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.request("PATCH", url)
    }

    /// Starts a DELETE.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request("DELETE", url)
    }

    /// The client's counters so far (shared by its clones): redirects by status and origin
    /// pair with their age, headers stripped, retries by reason, and re-sent writes.
    ///
    /// # Example
    ///
    /// ```
    /// let client = hopsafe::Client::new()?;
    /// let m = client.metrics();
    /// // Gate a deploy on it: a write delivered twice is a bug, a week-old failover a smell.
    /// assert_eq!(m.writes_delivered_twice, 0);
    /// let week = 7 * 24 * 3600 * 1000;
    /// assert!(m.redirects.iter().all(|r| r.status != 307 || r.age_ms < week));
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn metrics(&self) -> crate::metrics::MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// A client with this one's settings, cookie jar and counters, and a connection pool of
    /// its own. For calls driven by their caller ([`crate::runtime::CallerDriven`]): the
    /// connections such calls open make progress only while their caller drives them, so they
    /// must not be shared with calls that run on another runtime.
    pub fn with_own_connections(&self) -> Result<Client> {
        let config = self.inner.config.clone();
        let transport = crate::transport::build(&config.transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                metrics: self.inner.metrics.clone(),
            }),
        })
    }

    /// Sends a request, following redirects and retrying as configured. The request is
    /// checked and prepared when this is called; nothing is sent until the future is polled.
    pub fn execute(&self, request: Request) -> impl Future<Output = Result<Response>> + Send + '_ {
        crate::engine::execute(&self.inner, request)
    }
}

/// Configures a [`Client`]. Invalid options are reported by [`ClientBuilder::build`].
pub struct ClientBuilder {
    config: Config,
    error: Option<Error>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// The defaults: follow up to 20 redirects, no downgrade, credentials stripped across
    /// origins, idempotency keys on POST/PATCH, 3 attempts for safe retries.
    pub fn new() -> Self {
        ClientBuilder {
            config: Config::default(),
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// Follow redirects at all (default true).
    pub fn follow_redirects(mut self, on: bool) -> Self {
        self.config.redirect = self.config.redirect.follow(on);
        self
    }

    /// Maximum redirects per chain (default 20; 0 = never follow).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.config.redirect = self.config.redirect.max_redirects(n);
        self
    }

    /// Allow https to http redirects (default false). Credentials are stripped on them anyway.
    pub fn allow_https_downgrade(mut self, on: bool) -> Self {
        self.config.redirect = self.config.redirect.allow_https_downgrade(on);
        self
    }

    /// The whole redirect policy at once (replacing the four settings above and the hook).
    pub fn redirect(mut self, policy: crate::redirect::Policy) -> Self {
        self.config.redirect = policy;
        self
    }

    /// Trust an https origin (`https://host[:port]` or `https://*.domain`) to receive
    /// credentials across redirects. A wildcard never matches an IP literal, and trusted
    /// origins are https only: credentials never follow a hop to plaintext.
    ///
    /// ```
    /// // A regional failover between eu. and us. keeps the Authorization header;
    /// // a redirect anywhere else still strips it.
    /// let client = hopsafe::Client::builder()
    ///     .trust_origin("https://*.api.example.com")
    ///     .build()?;
    /// assert!(hopsafe::Client::builder().trust_origin("http://api.example.com").build().is_err());
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn trust_origin(mut self, pattern: &str) -> Self {
        match TrustedOrigin::parse(pattern) {
            Ok(t) => self.config.credentials.add_trusted(t),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Declare that an origin deduplicates writes by `Idempotency-Key` (`http(s)://host[:port]`
    /// or `http(s)://*.domain`). Only then is a POST/PATCH with a *generated* key re-sent after
    /// it may have reached the server (a reset after sending, a read timeout, 429, 503, 409).
    /// A key you set yourself already counts as that promise. Most servers ignore the header,
    /// so the default list is empty and such writes are delivered at most once.
    ///
    /// ```
    /// let client = hopsafe::Client::builder()
    ///     .key_honoring_origin("https://api.stripe.com")
    ///     .key_honoring_origin("https://*.payments.example.com")
    ///     .build()?;
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn key_honoring_origin(mut self, pattern: &str) -> Self {
        match TrustedOrigin::parse_any_scheme(pattern, "key-honoring origin") {
            Ok(t) => self.config.idempotency.honoring_origins.push(t),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Treat another header as a credential (stripped on cross-origin hops).
    pub fn sensitive_header(mut self, name: &str) -> Self {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => self.config.credentials.add_sensitive(n),
            Err(_) => self.fail(Error::InvalidHeader {
                name: name.to_owned(),
                reason: "not a valid header name".into(),
            }),
        }
        self
    }

    /// A hook consulted before each redirect is followed: it can follow, stop (the 3xx is
    /// returned) or fail the chain with [`Error::RedirectRejected`]. The built-in rules
    /// (limit, downgrade, credentials, loops) apply whatever it says.
    ///
    /// ```
    /// use hopsafe::RedirectAction;
    /// let client = hopsafe::Client::builder()
    ///     .redirect_hook(|attempt| match attempt.to.host_str() {
    ///         Some(h) if h.ends_with(".api.example.com") => RedirectAction::Follow,
    ///         _ => RedirectAction::Fail(format!("{} is not one of our regions", attempt.to)),
    ///     })
    ///     .build()?;
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn redirect_hook<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RedirectAttempt<'_>) -> RedirectAction + Send + Sync + 'static,
    {
        self.config.redirect = self.config.redirect.hook(hook);
        self
    }

    /// How much of a streamed body is kept for replay (default 4 MiB).
    pub fn replay_buffer_limit(mut self, bytes: usize) -> Self {
        self.config.replay_limit = bytes;
        self
    }

    /// The largest response body read whole, in bytes, by [`Response::bytes`],
    /// [`Response::text`] and [`Response::read_all`]; past it they fail with
    /// [`Error::ResponseTooLarge`]. Streamed reads ([`Response::chunk`],
    /// [`Response::bytes_stream`]) are never capped: they hold one chunk at a time.
    ///
    /// Default: none (`None`), like requests, httpx, undici, OkHttp and URLSession. Set it
    /// when bodies come from servers you do not control.
    ///
    /// ```
    /// let client = hopsafe::Client::builder()
    ///     .max_body_size(Some(16 * 1024 * 1024))
    ///     .build()?;
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn max_body_size(mut self, bytes: Option<u64>) -> Self {
        self.config.max_body_size = bytes;
        self
    }

    /// Connect timeout (default 10 s; `None` for none).
    pub fn connect_timeout(mut self, d: Option<Duration>) -> Self {
        self.config.transport.connect_timeout = d;
        self
    }

    /// Read timeout: waiting for headers or for the next body chunk (default 30 s).
    pub fn read_timeout(mut self, d: Option<Duration>) -> Self {
        self.config.read_timeout = d;
        self
    }

    /// Total deadline for one call, redirects and retries included (default none).
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.config.timeout = d;
        self
    }

    /// Trust the CA certificates in this PEM text in addition to the built-in roots.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Self {
        self.config.transport.extra_roots_pem.push(pem.to_vec());
        self
    }

    /// Present this client certificate to servers that ask for one (mutual TLS):
    /// `chain_pem` holds the certificate and any intermediates, `key_pem` its private key
    /// (PKCS#8, PKCS#1 or SEC1). The key is never printed.
    pub fn client_certificate_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.config.transport.client_identity_pem = Some(crate::tls::ClientIdentityPem {
            chain: chain_pem.to_vec(),
            key: key_pem.to_vec(),
        });
        self
    }

    /// Keep cookies (default false): `Set-Cookie` from every response, redirects included, is
    /// stored and sent back where RFC 6265's domain, path and `Secure` rules allow. A caller's
    /// own `Cookie` header is still stripped on cross-origin hops.
    pub fn cookie_store(mut self, on: bool) -> Self {
        self.config.cookies = on.then(Default::default);
        self
    }

    /// Also trust the operating system's roots (default true): the platform store on Linux,
    /// Windows and Android, or the PEM named by `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, as
    /// OpenSSL-based tools read them. Apple builds use the bundled roots only for now.
    pub fn system_roots(mut self, on: bool) -> Self {
        self.config.transport.system_roots = on;
        self
    }

    /// Use the built-in Mozilla roots (webpki-roots; default true).
    pub fn builtin_roots(mut self, on: bool) -> Self {
        self.config.transport.builtin_roots = on;
        self
    }

    /// Send every request through this proxy: `http://[user:pass@]host:port` (http URLs are
    /// forwarded, https URLs tunnelled with `CONNECT`), `https://` (the same over TLS to the
    /// proxy, verified with this client's roots), `socks5h://` (names resolved by the
    /// proxy) or `socks5://`. Overrides the environment. The proxy's credentials go only to
    /// the proxy; the redirect rules judge origins, never the proxy.
    ///
    /// ```
    /// let client = hopsafe::Client::builder()
    ///     .proxy("http://proxy.internal:3128")
    ///     .no_proxy("localhost,.corp.example")
    ///     .build()?;
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn proxy(mut self, url: &str) -> Self {
        self.config.transport.proxy.explicit = Some(url.to_owned());
        self
    }

    /// Hosts the explicit [`proxy`](Self::proxy) does not serve, `NO_PROXY` syntax
    /// (`host`, `.domain`, `*`, IPs and CIDRs, comma separated).
    pub fn no_proxy(mut self, hosts: &str) -> Self {
        self.config.transport.proxy.no_proxy = Some(hosts.to_owned());
        self
    }

    /// Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their lower-case
    /// forms) when no explicit proxy is set (default true). Proxies from the environment
    /// never serve loopback destinations (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn trust_env(mut self, on: bool) -> Self {
        self.config.transport.proxy.trust_env = on;
        self
    }

    /// Offer HTTP/2 over TLS by ALPN (default true).
    pub fn http2(mut self, on: bool) -> Self {
        self.config.transport.http2 = on;
        self
    }

    /// Generate idempotency keys for POST/PATCH (default true).
    pub fn idempotency_keys(mut self, on: bool) -> Self {
        self.config.idempotency.generate = on;
        self
    }

    /// Methods that get a generated idempotency key (default POST, PATCH).
    pub fn idempotency_methods(mut self, methods: &[&str]) -> Self {
        let mut parsed = Vec::new();
        for m in methods {
            match parse_method(m) {
                Ok(m) => parsed.push(m),
                Err(e) => self.fail(e),
            }
        }
        self.config.idempotency.methods = parsed;
        self
    }

    /// Wire format of the key (default quoted Structured Field string).
    pub fn idempotency_key_format(mut self, format: KeyFormat) -> Self {
        self.config.idempotency.format = format;
        self
    }

    /// Retry policy (default [`RetryPolicy::default`]: 3 attempts where a retry cannot apply
    /// a write twice, see [`retry`](crate::retry)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = hopsafe::Client::builder()
    ///     .retry(hopsafe::RetryPolicy {
    ///         max_attempts: 5,
    ///         max_retry_after: Duration::from_secs(10),
    ///         ..Default::default()
    ///     })
    ///     .build()?;
    /// let never = hopsafe::Client::builder().retry(hopsafe::RetryPolicy::never()).build()?;
    /// # Ok::<(), hopsafe::Error>(())
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        if policy.max_attempts == 0 {
            self.fail(Error::invalid_config(
                "retry max_attempts must be at least 1",
            ));
        }
        self.config.retry = policy;
        self
    }

    /// The SDK this client belongs to (e.g. `acme-python`, `2.4.0`), sent in `User-Agent`
    /// and `Client-SDK` so servers can pin a minimum version.
    pub fn sdk(mut self, name: &str, version: &str) -> Self {
        self.config.identity.name = name.to_owned();
        self.config.identity.version = version.to_owned();
        self
    }

    /// The language token and runtime (`python`, `Some("cpython/3.11.7")`); set by bindings.
    pub fn sdk_language(mut self, language: &str, runtime: Option<&str>) -> Self {
        self.config.identity.language = language.to_owned();
        self.config.identity.runtime = runtime.map(str::to_owned);
        self
    }

    /// A `User-Agent` prefix; hopsafe appends its identity products after it.
    pub fn user_agent(self, value: &str) -> Self {
        self.default_header("user-agent", value)
    }

    /// A header sent with every request (replacing an earlier default of that name).
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        match parse_header(name, value) {
            Ok((n, v)) => {
                self.config.default_headers.insert(n, v);
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// Builds the client, or reports the first invalid option.
    pub fn build(self) -> Result<Client> {
        self.build_with(crate::transport::build)
    }

    /// Builds the client on an in-memory transport (the engine's unit tests).
    #[cfg(test)]
    pub(crate) fn build_in_memory(self, answer: crate::transport::MemoryFn) -> Result<Client> {
        self.build_with(|_| Ok(crate::transport::Transport::Memory(answer)))
    }

    fn build_with(
        mut self,
        transport: impl FnOnce(
            &crate::transport::TransportConfig,
        ) -> Result<crate::transport::Transport>,
    ) -> Result<Client> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.config.identity.validate()?;
        let client_ua = self.config.default_headers.remove(http::header::USER_AGENT);
        self.config.identity_headers =
            IdentityHeaders::new(&self.config.identity, client_ua.as_ref());
        self.config.prepare_base_headers();
        let transport = transport(&self.config.transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config: self.config,
                transport,
                metrics: Default::default(),
            }),
        })
    }
}

/// Builds one request; the first invalid input is reported by [`RequestBuilder::send`].
pub struct RequestBuilder {
    client: Client,
    req: Result<Request>,
}

impl RequestBuilder {
    fn edit(mut self, f: impl FnOnce(&mut Request) -> Result<()>) -> Self {
        if let Ok(r) = &mut self.req {
            if let Err(e) = f(r) {
                self.req = Err(e);
            }
        }
        self
    }

    /// Appends a header. Values of credential headers (the defaults and the client's
    /// `sensitive_header`s) are marked sensitive: `Debug` never prints them.
    pub fn header(self, name: &str, value: &str) -> Self {
        let credentials = &self.client.inner.config.credentials;
        let parsed = parse_header(name, value).map(|(n, mut v)| {
            if credentials.is_sensitive(&n) {
                v.set_sensitive(true);
            }
            (n, v)
        });
        self.edit(move |r| {
            let (n, v) = parsed?;
            r.headers.append(n, v);
            Ok(())
        })
    }

    /// Sets `Authorization: Bearer <token>` (stripped on cross-origin hops like any credential).
    pub fn bearer_auth(self, token: &str) -> Self {
        let value = format!("Bearer {token}");
        self.edit(move |r| {
            let (n, v) = parse_header("authorization", &value)?;
            r.headers.insert(n, v);
            Ok(())
        })
    }

    /// Sets `Authorization: Basic ...` (stripped on cross-origin hops like any credential).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let value = crate::credentials::basic_auth_value(user, password);
        self.edit(move |r| {
            r.headers.insert(http::header::AUTHORIZATION, value);
            Ok(())
        })
    }

    /// Sets the body.
    pub fn body(self, body: impl Into<Body>) -> Self {
        let body = body.into();
        self.edit(move |r| {
            r.body = body;
            Ok(())
        })
    }

    /// Follow redirects for this request.
    pub fn follow_redirects(self, on: bool) -> Self {
        self.edit(|r| {
            r.options.follow_redirects = Some(on);
            Ok(())
        })
    }

    /// Maximum redirects for this request (0 = never follow).
    pub fn max_redirects(self, n: u32) -> Self {
        self.edit(|r| {
            r.options.max_redirects = Some(n);
            Ok(())
        })
    }

    /// Idempotency key choice for this request.
    pub fn idempotency_key(self, choice: KeyChoice) -> Self {
        self.edit(|r| {
            r.options.idempotency_key = choice;
            Ok(())
        })
    }

    /// Total deadline for this request.
    pub fn timeout(self, d: Duration) -> Self {
        self.edit(|r| {
            r.options.timeout = Some(d);
            Ok(())
        })
    }

    /// Retry policy for this request.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.edit(|r| {
            r.options.retry = Some(policy);
            Ok(())
        })
    }

    /// The request, or the first invalid input.
    pub fn build(self) -> Result<Request> {
        self.req
    }

    /// Sends it.
    #[allow(clippy::manual_async_fn)]
    pub fn send(self) -> impl Future<Output = Result<Response>> + Send {
        // Straight to the engine: every async layer keeps its own copy of the request in the
        // future's state, which callers move around. An `async` block, not an `async fn`,
        // which would hold the builder twice (as its argument and as a local).
        let RequestBuilder { client, req } = self;
        async move { crate::engine::execute(&client.inner, req?).await }
    }
}
