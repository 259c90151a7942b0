//! Which proxy a request goes through, and the connection through it: HTTP proxies
//! (absolute-form requests for http URLs, `CONNECT` tunnels for https), the same over TLS to
//! the proxy itself (`https://` proxies, verified with the client's own roots and offering
//! only HTTP/1.1), SOCKS5 (`socks5h://` resolves names at the proxy, `socks5://` locally). The proxy handshakes are hyper-util's
//! (`Tunnel`, `SocksV5`) and so is the environment reading (`Matcher`: `HTTP_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, lower case too, as curl reads them).
//!
//! Proxies sit below the redirect rules: every rule judges the origin of the URL, never the
//! proxy, so a hop through the same proxy strips credentials exactly as a direct one. Proxy
//! credentials (the proxy URL's userinfo) go only to the proxy: on the `CONNECT` request, in
//! the SOCKS5 handshake, or as `Proxy-Authorization` on a request the proxy forwards.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::{Error, Result};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where proxies come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProxySettings {
    /// A proxy for every request (`http://`, `https://`, `socks5://`, `socks5h://`, userinfo
    /// allowed).
    pub explicit: Option<String>,
    /// Hosts the explicit proxy does not serve (`NO_PROXY` syntax).
    pub no_proxy: Option<String>,
    /// Read the proxy environment variables when no explicit proxy is set.
    pub trust_env: bool,
}

/// The proxy rules of one client.
#[derive(Debug)]
pub(crate) struct Proxies {
    matcher: Option<Matcher>,
    /// Rules read from the environment never serve loopback destinations (as Go's
    /// `ProxyFromEnvironment`): a proxy exported for the outside world must not swallow a
    /// local server.
    from_env: bool,
}

impl Proxies {
    /// The rules for `settings`; an explicit proxy URL is checked here.
    pub(crate) fn new(settings: &ProxySettings) -> Result<Proxies> {
        if let Some(url) = &settings.explicit {
            check_proxy_url(url)?;
            let mut b = Matcher::builder().all(url.clone());
            if let Some(no) = &settings.no_proxy {
                b = b.no(no.clone());
            }
            return Ok(Proxies {
                matcher: Some(b.build()),
                from_env: false,
            });
        }
        if settings.trust_env && env_has_proxy() {
            return Ok(Proxies {
                matcher: Some(Matcher::from_env()),
                from_env: true,
            });
        }
        Ok(Proxies {
            matcher: None,
            from_env: false,
        })
    }

    /// The proxy for `dst`, if any.
    fn intercept(&self, dst: &Uri) -> Option<Intercept> {
        let m = self.matcher.as_ref()?;
        if self.from_env && dst.host().is_some_and(is_loopback) {
            return None;
        }
        m.intercept(dst)
    }

    /// The `Proxy-Authorization` value for a request an HTTP proxy forwards (http URLs); none
    /// for tunnels and SOCKS, where the credentials travel in the handshake.
    pub(crate) fn forward_auth(&self, dst: &Uri) -> Option<HeaderValue> {
        if dst.scheme() != Some(&Scheme::HTTP) {
            return None;
        }
        let i = self.intercept(dst)?;
        if !is_http_proxy(i.uri()) {
            return None;
        }
        i.basic_auth().cloned()
    }
}

/// Whether the environment names any proxy (`NO_PROXY` alone selects none), so a client in
/// an environment without one skips the matcher on every request.
fn env_has_proxy() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
        .iter()
        .any(|name| {
            [name.to_string(), name.to_ascii_lowercase()]
                .iter()
                .any(|n| std::env::var_os(n).is_some_and(|v| !v.is_empty()))
        })
}

/// An HTTP proxy, spoken to in the clear or over TLS.
fn is_http_proxy(proxy: &Uri) -> bool {
    matches!(proxy.scheme_str(), Some("http" | "https") | None)
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A proxy URL the client can use, or why not.
fn check_proxy_url(raw: &str) -> Result<()> {
    let url = url::Url::parse(raw).map_err(|e| {
        Error::invalid_config(format!(
            "proxy {}: {e}",
            crate::credentials::redact_userinfo(raw)
        ))
    })?;
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" => {}
        other => {
            return Err(Error::invalid_config(format!(
                "proxy scheme {other:?} is not supported (use http://, https://, socks5:// or \
                 socks5h://)"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) || url.port_or_known_default().is_none() {
        return Err(Error::invalid_config(format!(
            "proxy {} needs a host and a port",
            crate::credentials::redact_userinfo(raw)
        )));
    }
    Ok(())
}

/// `dst` with its port written out (hyper-util's SOCKS handshake assumes 443 otherwise).
fn with_port(dst: &Uri) -> std::result::Result<Uri, BoxError> {
    if dst.port().is_some() {
        return Ok(dst.clone());
    }
    let port = if dst.scheme() == Some(&Scheme::HTTPS) {
        443
    } else {
        80
    };
    let host = dst.host().ok_or("destination without a host")?;
    let authority: Authority = format!("{host}:{port}").parse()?;
    let mut parts = dst.clone().into_parts();
    parts.authority = Some(authority);
    Ok(Uri::from_parts(parts)?)
}

/// A failure on the way through a proxy, naming the proxy (never its credentials: the
/// matcher keeps them apart from the URI) and keeping the cause as its source, so a TLS
/// failure with an `https://` proxy is still told apart from a refused connection.
#[derive(Debug)]
struct ProxyError {
    what: &'static str,
    proxy: Uri,
    source: BoxError,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proxy = self.proxy.to_string();
        let proxy = proxy.trim_end_matches('/');
        write!(f, "{} {proxy}: {}", self.what, self.source)
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Wraps a failure at `proxy` as a [`ProxyError`].
fn via<'a, E: Into<BoxError>>(
    what: &'static str,
    proxy: &'a Uri,
) -> impl FnOnce(E) -> BoxError + 'a {
    move |source| {
        Box::new(ProxyError {
            what,
            proxy: proxy.clone(),
            source: source.into(),
        })
    }
}

/// The connector under TLS: straight to the origin, or through the proxy for it.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    /// TLS to an `https://` proxy itself: the client's roots, HTTP/1.1 only (a `CONNECT`
    /// tunnel or a forwarded request is HTTP/1.1).
    proxy_tls: HttpsConnector<HttpConnector>,
    proxies: Arc<Proxies>,
}

impl ProxyConnector {
    /// `tls` is the client's TLS configuration without ALPN.
    pub(crate) fn new(
        http: HttpConnector,
        tls: rustls::ClientConfig,
        proxies: Arc<Proxies>,
    ) -> Self {
        let proxy_tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http.clone());
        ProxyConnector {
            http,
            proxy_tls,
            proxies,
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        // HttpConnector is always ready; the proxy connectors wrap a clone of it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let Some(proxy) = self.proxies.intercept(&dst) else {
            // The common case in a future of its own: the one below, sized and framed for
            // every proxy kind, took a 7 KiB stack frame on each runtime worker.
            return Box::pin(http.call(dst).map(|r| Ok(Conn::direct(r?))));
        };
        let proxy_tls = self.proxy_tls.clone();
        Box::pin(async move {
            let uri = proxy.uri().clone();
            let tunnel = dst.scheme() == Some(&Scheme::HTTPS);
            match uri.scheme_str() {
                Some("socks5" | "socks5h") => {
                    let remote_dns = uri.scheme_str() == Some("socks5h");
                    let mut socks = SocksV5::new(uri.clone(), http).local_dns(!remote_dns);
                    if let Some((user, pass)) = proxy.raw_auth() {
                        socks = socks.with_auth(user.to_owned(), pass.to_owned());
                    }
                    let io = socks
                        .call(with_port(&dst)?)
                        .await
                        .map_err(via("SOCKS5 proxy", &uri))?;
                    Ok(Conn::new(io.into(), false))
                }
                _ if !is_http_proxy(&uri) => Err(format!(
                    "proxy scheme {:?} is not supported (use http://, https://, socks5:// or \
                     socks5h://)",
                    uri.scheme_str().unwrap_or_default()
                )
                .into()),
                Some("https") if tunnel => {
                    let mut t = Tunnel::new(uri.clone(), proxy_tls);
                    if let Some(auth) = proxy.basic_auth() {
                        t = t.with_auth(auth.clone());
                    }
                    let io = t.call(dst).await.map_err(via("HTTPS proxy", &uri))?;
                    Ok(Conn::new(io, false))
                }
                // An http URL: the proxy forwards the request (absolute-form) inside TLS.
                Some("https") => {
                    let mut tls = proxy_tls;
                    let io = tls
                        .call(uri.clone())
                        .await
                        .map_err(via("HTTPS proxy", &uri))?;
                    Ok(Conn::new(io, true))
                }
                _ if tunnel => {
                    let mut t = Tunnel::new(uri.clone(), http);
                    if let Some(auth) = proxy.basic_auth() {
                        t = t.with_auth(auth.clone());
                    }
                    let io = t.call(dst).await.map_err(via("HTTP proxy", &uri))?;
                    Ok(Conn::new(io.into(), false))
                }
                // An http URL: the proxy forwards the request (absolute-form).
                _ => {
                    let io = http
                        .call(uri.clone())
                        .await
                        .map_err(via("HTTP proxy", &uri))?;
                    Ok(Conn::new(io.into(), true))
                }
            }
        })
    }
}

/// A connection to an origin, a tunnel, or a forwarding proxy; TLS when the proxy is an
/// `https://` one (the origin's own TLS, if any, runs on top).
pub(crate) struct Conn {
    /// TLS to the proxy boxed, as the origin's own TLS stream wraps this one: a few words
    /// instead of 1.1 KiB moved through every connect future's frame.
    io: Stream<TokioIo<TcpStream>, MaybeHttpsStream<TokioIo<TcpStream>>>,
    /// Requests go to a forwarding proxy: hyper writes them in absolute-form.
    forwarded: bool,
}

impl Conn {
    /// A plain connection straight to the origin.
    fn direct(io: TokioIo<TcpStream>) -> Conn {
        Conn {
            io: Stream::Plain(io),
            forwarded: false,
        }
    }

    fn new(io: MaybeHttpsStream<TokioIo<TcpStream>>, forwarded: bool) -> Conn {
        Conn {
            io: Stream::new(io),
            forwarded,
        }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forwarded)
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

crate::forward_write!([] Conn);

/// A stream kept inline when plain and boxed when TLS: an idle plain connection then
/// holds no TLS-sized allocation, and a TLS one is never moved by value.
pub(crate) enum Stream<P, T> {
    Plain(P),
    Tls(Box<T>),
}

impl<P> Stream<P, MaybeHttpsStream<P>> {
    /// hyper-rustls' stream, unboxed when it is plain.
    pub(crate) fn new(io: MaybeHttpsStream<P>) -> Self {
        match io {
            MaybeHttpsStream::Http(p) => Stream::Plain(p),
            tls => Stream::Tls(Box::new(tls)),
        }
    }
}

impl<P: Connection, T: Connection> Connection for Stream<P, T> {
    fn connected(&self) -> Connected {
        match self {
            Stream::Plain(p) => p.connected(),
            Stream::Tls(t) => t.connected(),
        }
    }
}

/// Calls `$call` on the stream, pinned, whichever it is.
macro_rules! each {
    ($self:ident, $io:ident => $call:expr) => {
        match &mut *$self {
            Stream::Plain($io) => {
                let $io = Pin::new($io);
                $call
            }
            Stream::Tls($io) => {
                let $io = Pin::new(&mut **$io);
                $call
            }
        }
    };
}

impl<P: Read + Unpin, T: Read + Unpin> Read for Stream<P, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, io => io.poll_read(cx, buf))
    }
}

impl<P: Write + Unpin, T: Write + Unpin> Write for Stream<P, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, io => io.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, io => io.poll_shutdown(cx))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(p) => p.is_write_vectored(),
            Stream::Tls(t) => t.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, io => io.poll_write_vectored(cx, bufs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(url: &str, no: Option<&str>) -> Result<Proxies> {
        Proxies::new(&ProxySettings {
            explicit: Some(url.into()),
            no_proxy: no.map(Into::into),
            trust_env: false,
        })
    }

    #[test]
    fn proxy_urls_are_checked_without_echoing_credentials() {
        for ok in [
            "http://p:3128",
            "socks5h://u:pw@p:1080",
            "socks5://p:1080",
            "http://p",
            "https://u:pw@p:8443",
        ] {
            explicit(ok, None).unwrap();
        }
        for (bad, says) in [
            ("socks4://p:1080", "not supported"),
            ("ftp://u:secret@p:21", "not supported"),
            ("http://u:secret@", "proxy"),
            ("not a url", "proxy"),
        ] {
            let e = explicit(bad, None).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }

    #[test]
    fn explicit_proxies_serve_loopback_unless_no_proxy_says_otherwise() {
        let p = explicit("http://u:pw@proxy:3128", Some("skip.example")).unwrap();
        let local: Uri = "http://127.0.0.1:8080/x".parse().unwrap();
        assert!(p.intercept(&local).is_some());
        assert!(p.forward_auth(&local).is_some());
        let https: Uri = "https://127.0.0.1/x".parse().unwrap();
        assert!(p.intercept(&https).is_some());
        assert_eq!(p.forward_auth(&https), None, "credentials go in CONNECT");
        let skipped: Uri = "http://skip.example/".parse().unwrap();
        assert!(p.intercept(&skipped).is_none());
    }

    #[test]
    fn environment_proxies_never_serve_loopback() {
        let p = Proxies {
            matcher: Some(
                Matcher::builder()
                    .all("http://proxy:3128".to_owned())
                    .build(),
            ),
            from_env: true,
        };
        for local in [
            "http://127.0.0.1:1/",
            "http://localhost/",
            "http://[::1]:8/",
        ] {
            assert!(p.intercept(&local.parse().unwrap()).is_none(), "{local}");
        }
        assert!(p
            .intercept(&"http://api.example/".parse().unwrap())
            .is_some());
    }

    #[test]
    fn socks_destinations_get_their_default_port() {
        assert_eq!(
            with_port(&"http://a.example/x".parse().unwrap()).unwrap(),
            "http://a.example:80/x"
        );
        assert_eq!(
            with_port(&"https://a.example".parse().unwrap()).unwrap(),
            "https://a.example:443/"
        );
        assert_eq!(
            with_port(&"http://a.example:81/".parse().unwrap()).unwrap(),
            "http://a.example:81/"
        );
    }
}
