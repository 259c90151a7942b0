//! TLS alerts that arrive after the handshake, kept with their connection. In TLS 1.3 a
//! server checks the client certificate after the client has finished its handshake, so a
//! missing or refused certificate arrives as an alert on the first read. Over HTTP/2 the
//! connection task reads it, and the request may then fail only as "connection was not
//! ready", "connection closed" or "channel closed" (hyper-util drops the connection's own
//! error). [`AlertWatch`] wraps the TLS connector: each connection notes an alert it reads in
//! an [`AlertSlot`], which reaches the failed request two ways: hyper-util hands it back with
//! the connection info of a request that failed on a pooled connection to a TLS origin, and [`watching`]
//! keeps the slot of a connection the request itself opened (one that died before it was
//! ready has no connection info). Either way the failure is reported as the TLS refusal it is.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tower_service::Service;

/// The alert a connection read, if any (rustls' text: `received fatal alert: ...`).
#[derive(Clone, Default, Debug)]
pub(crate) struct AlertSlot(Arc<OnceLock<String>>);

impl AlertSlot {
    /// The alert of the connection `err` happened on, if it read one.
    pub(crate) fn of(err: &hyper_util::client::legacy::Error) -> Option<String> {
        let mut ext = http::Extensions::new();
        err.connect_info()?.get_extras(&mut ext);
        ext.get::<AlertSlot>()?.get()
    }

    /// The alert read, if any.
    pub(crate) fn get(&self) -> Option<String> {
        self.0.get().cloned()
    }
}

tokio::task_local! {
    /// The slot of the connection the current request opened, if it opened one.
    static OPENED: RefCell<Option<AlertSlot>>;
}

/// Runs one attempt (`send`), and returns its outcome with the slot of the connection it
/// opened, if any. hyper-util calls the connector from the request's own task, so
/// [`AlertWatch`] finds the task-local there; nothing is allocated when no connection opens.
pub(crate) async fn watching<F: Future>(send: F) -> (F::Output, Option<AlertSlot>) {
    let mut fut = std::pin::pin!(OPENED.scope(RefCell::new(None), send));
    let out = fut.as_mut().await;
    let opened = fut.as_mut().take_value().and_then(RefCell::into_inner);
    (out, opened)
}

/// Whether `io` is a TLS alert as tokio-rustls reports it: an `InvalidData` error carrying
/// rustls' text (over HTTP/2, h2 passes on only the kind and the text).
pub(crate) fn is_alert(io: &io::Error) -> bool {
    io.kind() == io::ErrorKind::InvalidData && io.to_string().starts_with("received fatal alert")
}

/// A connector whose connections remember the TLS alert they read. The connector it wraps
/// is shared: hyper-util clones its connector for every request (to connect if no pooled
/// connection is free), and one `Arc` costs less to clone and drop than the TLS, proxy and
/// TCP connectors' own handles. The first `poll_ready` of a connect takes a copy of its own.
#[derive(Clone)]
pub(crate) struct AlertWatch<C>(pub Arc<C>);

impl<C, T> Service<Uri> for AlertWatch<C>
where
    C: Service<Uri, Response = Box<T>> + Clone,
    C::Future: Send + 'static,
{
    type Response = Watched<T>;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, C::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
        Arc::make_mut(&mut self.0).poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        // Only a TLS connection to the origin hands its slot to every response on it; for a
        // plain one (where an alert can come only from a TLS proxy, on the request that
        // opened the connection) the task-local below is enough, and responses carry no
        // extra (hyper-util boxes each extra into each response's extensions).
        let per_response = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        let connecting = Arc::make_mut(&mut self.0).call(dst);
        let slot = AlertSlot::default();
        // Outside a request (none today) there is no task-local, and only the connection
        // info carries the slot.
        let _ = OPENED.try_with(|opened| *opened.borrow_mut() = Some(slot.clone()));
        Box::pin(async move {
            Ok(Watched {
                io: connecting.await?,
                slot,
                per_response,
            })
        })
    }
}

/// A connection that notes the TLS alert it reads.
pub(crate) struct Watched<T> {
    /// Boxed by the connector: the stream (2.2 KiB with its TLS states) would otherwise be
    /// moved through hyper-util's connect future by value, whose stack frame then took
    /// 40 KiB of every runtime worker's stack (against 13 KiB for reqwest, which boxes its
    /// streams too).
    io: Box<T>,
    slot: AlertSlot,
    /// Whether the slot goes with the connection info of each response (TLS origins).
    per_response: bool,
}

impl<T: Connection> Connection for Watched<T> {
    fn connected(&self) -> Connected {
        let connected = self.io.connected();
        if self.per_response {
            connected.extra(self.slot.clone())
        } else {
            connected
        }
    }
}

impl<T: Read + Unpin> Read for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Err(e)) = &polled {
            if is_alert(e) {
                let _ = this.slot.0.set(e.to_string());
            }
        }
        polled
    }
}

crate::forward_write!([T: Write + Unpin] Watched<T>);
