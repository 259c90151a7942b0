//! The connector hyper-util's pool calls: `https` origins through rustls (hyper-rustls),
//! plain `http` ones straight to the proxy connector. Both hand back the stream boxed, and a
//! TLS stream (1.1 KiB of rustls state) boxed again inside: a plain connection costs a few
//! dozen bytes of heap, not 1.1 KiB per layer.
//!
//! Plain origins skip hyper-rustls because its connect future, sized for a TLS handshake,
//! would otherwise sit under the deepest connect calls on every runtime worker's stack.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use http::uri::Scheme;
use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use tower_service::Service;

use crate::proxy::{Conn, ProxyConnector, Stream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection to an origin, TLS or not; boxed so that no stream is moved by value through
/// hyper-util's connect future.
pub(crate) type OriginStream = Box<Stream<Conn, MaybeHttpsStream<Conn>>>;

/// Connects to an origin by its scheme; see the module docs.
#[derive(Clone)]
pub(crate) struct OriginConnector {
    pub tls: HttpsConnector<ProxyConnector>,
    pub plain: ProxyConnector,
}

impl Service<Uri> for OriginConnector {
    type Response = OriginStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<OriginStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both wrap a `ProxyConnector`, which is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        if dst.scheme() == Some(&Scheme::HTTP) {
            return Box::pin(self.plain.call(dst).map(|r| r.map(plain)));
        }
        Box::pin(
            self.tls
                .call(dst)
                .map(|r| r.map(|s| Box::new(Stream::new(s)))),
        )
    }
}

fn plain(conn: Conn) -> OriginStream {
    Box::new(Stream::Plain(conn))
}
