//! Where requests go. [`Transport::Wire`] is the network: a pooled hyper-util client over TCP
//! and rustls (ring provider), HTTP/1.1 and HTTP/2 by ALPN, with transport failures translated
//! into [`Error`]s and [`Failure`]s for the retry rules. In the crate's own unit tests,
//! `Transport::Memory` answers from a function instead, so the engine is tested without
//! sockets (the real-socket suites in `core/tests` stay the proof).

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::alert::{AlertSlot, AlertWatch};
use crate::body::SendBody;
use crate::connector::OriginConnector;
use crate::error::{describe, Error, Result, TimeoutPhase};
use crate::proxy::{Proxies, ProxyConnector, ProxySettings};
use crate::retry::Failure;

/// Default TCP + TLS connect deadline per attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS and connection settings.
#[derive(Debug, Clone)]
pub(crate) struct TransportConfig {
    pub connect_timeout: Option<Duration>,
    pub extra_roots_pem: Vec<Vec<u8>>,
    pub builtin_roots: bool,
    pub system_roots: bool,
    pub http2: bool,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
    pub proxy: ProxySettings,
    /// A client certificate chain and its private key (PEM), for servers that ask for one.
    pub client_identity_pem: Option<crate::tls::ClientIdentityPem>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            extra_roots_pem: Vec::new(),
            builtin_roots: true,
            system_roots: true,
            http2: true,
            pool_idle_timeout: Duration::from_secs(90),
            // Up to 100 concurrent requests per host keep their connections: with 32, a
            // 64-way burst closed and reopened connections on every request past 32 (seen in
            // the Kotlin profiles: connect and shutdown at 3% of the runtime's samples, sockets
            // left in TIME_WAIT). Idle ones still close after `pool_idle_timeout`.
            pool_max_idle_per_host: 100,
            proxy: ProxySettings {
                trust_env: true,
                ..ProxySettings::default()
            },
            client_identity_pem: None,
        }
    }
}

/// The pooled hyper client over TLS over [`ProxyConnector`], and the proxy rules it uses.
pub(crate) struct Wire {
    client: HyperClient<AlertWatch<OriginConnector>, SendBody>,
    proxies: Arc<Proxies>,
}

/// A request as a transport receives it.
pub(crate) type WireRequest = http::Request<SendBody>;

/// What a transport answers: the response head and a body to read, or a classified failure.
pub(crate) type Sent = std::result::Result<http::Response<RespBody>, SendError>;

/// An in-memory transport: a function from request to answer.
#[cfg(test)]
pub(crate) type MemoryFn =
    Arc<dyn Fn(WireRequest) -> futures_util::future::BoxFuture<'static, Sent> + Send + Sync>;

/// Where requests go. (The memory variant exists only in unit tests; boxing the pooled client
/// to even out the sizes would cost every request an indirection for nothing.)
#[cfg_attr(test, allow(clippy::large_enum_variant))]
pub(crate) enum Transport {
    /// The network.
    Wire(Wire),
    /// A function answering in memory (engine unit tests).
    #[cfg(test)]
    Memory(MemoryFn),
}

impl Transport {
    /// Sends one request; `url` and `connect_timeout` describe failures. The request is
    /// handed over before the future is made (hyper-util only boxes it; nothing happens
    /// until the future is polled), so the future does not carry it.
    pub(crate) fn send<'a>(
        &self,
        req: WireRequest,
        url: &'a Url,
        connect_timeout: Option<Duration>,
    ) -> impl std::future::Future<Output = Sent> + Send + 'a {
        let sending = match self {
            Transport::Wire(wire) => {
                let mut req = wire.authorize(req);
                crate::host_header::add_for_http(&mut req);
                Sending::Wire(wire.client.request(req))
            }
            #[cfg(test)]
            Transport::Memory(answer) => Sending::Memory(answer(req)),
        };
        async move {
            match sending {
                Sending::Wire(sending) => match crate::alert::watching(sending).await {
                    (Ok(resp), _) => Ok(resp.map(RespBody::Wire)),
                    (Err(e), opened) => Err(classify(e, url, connect_timeout, opened)),
                },
                #[cfg(test)]
                Sending::Memory(answered) => answered.await,
            }
        }
    }
}

/// A request handed to a transport, not yet answered.
enum Sending {
    Wire(hyper_util::client::legacy::ResponseFuture),
    #[cfg(test)]
    Memory(futures_util::future::BoxFuture<'static, Sent>),
}

impl Wire {
    /// Adds the proxy's credentials to a request the proxy forwards (an http URL through an
    /// HTTP proxy), unless the caller set `Proxy-Authorization` itself.
    fn authorize(&self, mut req: WireRequest) -> WireRequest {
        if let Some(mut auth) = self.proxies.forward_auth(req.uri()) {
            auth.set_sensitive(true);
            req.headers_mut()
                .entry(http::header::PROXY_AUTHORIZATION)
                .or_insert(auth);
        }
        req
    }
}

/// A response body from either transport.
#[derive(Debug)]
pub(crate) enum RespBody {
    /// Streamed from the connection.
    Wire(hyper::body::Incoming),
    /// Held in memory (engine unit tests).
    #[cfg(test)]
    Memory(Option<bytes::Bytes>),
}

impl http_body::Body for RespBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<bytes::Bytes>, hyper::Error>>>
    {
        match self.get_mut() {
            RespBody::Wire(b) => std::pin::Pin::new(b).poll_frame(cx),
            #[cfg(test)]
            RespBody::Memory(b) => {
                std::task::Poll::Ready(b.take().map(|b| Ok(http_body::Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RespBody::Wire(b) => b.is_end_stream(),
            #[cfg(test)]
            RespBody::Memory(b) => b.is_none(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            RespBody::Wire(b) => b.size_hint(),
            #[cfg(test)]
            RespBody::Memory(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

/// Builds the pooled client. Must not need a runtime: connections are spawned lazily.
pub(crate) fn build(cfg: &TransportConfig) -> Result<Transport> {
    let tls = crate::tls::client_config(
        &cfg.extra_roots_pem,
        cfg.builtin_roots,
        cfg.system_roots,
        cfg.client_identity_pem.as_ref(),
    )?;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(cfg.connect_timeout);
    let proxies = Arc::new(Proxies::new(&cfg.proxy)?);
    let plain = ProxyConnector::new(http, tls.clone(), proxies.clone());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let tls = if cfg.http2 {
        https.enable_all_versions().wrap_connector(plain.clone())
    } else {
        https.enable_http1().wrap_connector(plain.clone())
    };
    Ok(Transport::Wire(Wire {
        proxies,
        client: HyperClient::builder(TokioExecutor::new())
            // RFC 9112 §5.2: a user agent must unfold obs-folded field values (hyper replaces
            // the fold with spaces) rather than fail the response.
            .http1_allow_obsolete_multiline_headers_in_responses(true)
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .pool_max_idle_per_host(cfg.pool_max_idle_per_host)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(AlertWatch(Arc::new(OriginConnector { tls, plain }))),
    }))
}

/// The request-target URI for hyper (no fragment, no credentials).
pub(crate) fn to_uri(url: &Url) -> Result<Uri> {
    let bad = |e: http::uri::InvalidUri| Error::InvalidUrl {
        input: url.to_string(),
        reason: e.to_string(),
    };
    // The serialization up to the query is already the request target hyper needs, unless
    // it carries credentials (which never go on the wire in the URI).
    if url.username().is_empty() && url.password().is_none() {
        return Uri::try_from(&url[..url::Position::AfterQuery]).map_err(bad);
    }
    let host = url.host_str().unwrap_or_default();
    let mut s = format!("{}://{}", url.scheme(), host);
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(&url[url::Position::BeforePath..url::Position::AfterQuery]);
    s.parse::<Uri>().map_err(bad)
}

/// A failed attempt: the error to report and how retries should see it.
pub(crate) struct SendError {
    pub error: Error,
    pub failure: Failure,
}

/// Classifies a hyper-util client error; `connect_timeout` is the limit a connect timeout hit,
/// `opened` the alert slot of a connection the request opened.
fn classify(
    err: hyper_util::client::legacy::Error,
    url: &Url,
    connect_timeout: Option<Duration>,
    opened: Option<AlertSlot>,
) -> SendError {
    let url_s = url.to_string();
    let reason = describe(&err);
    if err.is_connect() {
        if let Some(io) = find::<std::io::Error>(&err) {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return SendError {
                    error: Error::Timeout {
                        url: url_s,
                        phase: TimeoutPhase::Connect,
                        after: connect_timeout.unwrap_or_default(),
                        history: Vec::new(),
                    },
                    failure: Failure::Connect,
                };
            }
        }
        let tls = find::<rustls::Error>(&err).is_some();
        let source = Some(Box::new(err) as Box<dyn StdError + Send + Sync>);
        return if tls {
            SendError {
                error: Error::Tls {
                    url: url_s,
                    reason,
                    source,
                    history: Vec::new(),
                },
                failure: Failure::TlsRefused,
            }
        } else {
            SendError {
                error: Error::Connect {
                    url: url_s,
                    reason,
                    source,
                    history: Vec::new(),
                },
                failure: Failure::Connect,
            }
        };
    }
    // The request failed on a connection that read a TLS alert (the connection task may have
    // read it while the request only saw "connection was not ready" or "channel closed").
    let direct = tls_alert(&err) || find::<rustls::Error>(&err).is_some();
    let alert = if direct {
        None
    } else {
        AlertSlot::of(&err).or_else(|| opened.and_then(|slot| slot.get()))
    };
    if direct || alert.is_some() {
        return SendError {
            error: Error::Tls {
                url: url_s,
                reason: match alert {
                    Some(alert) => format!("{alert} ({reason})"),
                    None => reason,
                },
                source: Some(Box::new(err)),
                history: Vec::new(),
            },
            failure: Failure::TlsRefused,
        };
    }
    let refused = find::<h2::Error>(&err).is_some_and(|h| {
        h.reason() == Some(h2::Reason::REFUSED_STREAM)
            || (h.is_go_away() && h.reason() == Some(h2::Reason::NO_ERROR))
    });
    let malformed = find::<hyper::Error>(&err).is_some_and(hyper::Error::is_parse);
    SendError {
        error: Error::Transport {
            url: url_s,
            reason,
            source: Some(Box::new(err)),
            history: Vec::new(),
        },
        failure: if refused {
            Failure::Refused
        } else if malformed {
            Failure::Malformed
        } else {
            Failure::AfterSend
        },
    }
}

/// Whether `err` is a TLS alert read after the handshake (see [`crate::alert`]): over
/// HTTP/1.1 an io::Error holding the rustls::Error, over HTTP/2 hyper's own io error with
/// rustls' text, or one inside an h2::Error (whose `source` hides it). core/tests/mtls.rs
/// guards both protocols.
fn tls_alert(err: &(dyn StdError + 'static)) -> bool {
    find::<std::io::Error>(err).is_some_and(crate::alert::is_alert)
        || find::<h2::Error>(err)
            .and_then(h2::Error::get_io)
            .is_some_and(crate::alert::is_alert)
}

fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        // `io::Error::source` skips the wrapped error itself; look inside it too.
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static));
        cur = wrapped.or_else(|| e.source());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_alerts_are_told_from_other_io_errors() {
        use std::io::{Error as Io, ErrorKind};
        let text = || {
            Io::new(
                ErrorKind::InvalidData,
                "received fatal alert: CertificateRequired",
            )
        };
        assert!(tls_alert(&text()));
        let h2: h2::Error = h2::Error::from(h2::Reason::PROTOCOL_ERROR);
        assert!(!tls_alert(&h2));
        let other = Io::new(ErrorKind::InvalidData, "invalid HTTP version");
        assert!(!tls_alert(&other));
        let reset = Io::new(ErrorKind::ConnectionReset, "received fatal alert: x");
        assert!(!tls_alert(&reset));
    }

    #[test]
    fn request_targets_never_carry_fragments_or_credentials() {
        for (input, want) in [
            (
                "http://127.0.0.1:8080/a/b?q=1#frag",
                "http://127.0.0.1:8080/a/b?q=1",
            ),
            ("https://[::1]:9443/x", "https://[::1]:9443/x"),
            (
                "https://user:pw@api.example.com/v1?x",
                "https://api.example.com/v1?x",
            ),
            (
                "http://bücher.example/p%20q",
                "http://xn--bcher-kva.example/p%20q",
            ),
        ] {
            let url = Url::parse(input).unwrap();
            assert_eq!(to_uri(&url).unwrap().to_string(), want, "{input}");
        }
    }
}
