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

use std::cell::Cell;
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

thread_local! {
    /// While a request is polled under [`watching`] (`Some`): the slot of the connection it
    /// opened, if it opened one. `None` outside any request's poll.
    static OPENED: Cell<Option<Option<AlertSlot>>> = const { Cell::new(None) };
}

/// Runs one attempt (`send`), and returns its outcome with the slot of the connection it
/// opened, if any. hyper-util calls the connector while the request is polled, so
/// [`AlertWatch`] finds the request's place in [`OPENED`] there (set for each poll, as a
/// task-local would be, at the cost of two thread-local swaps); nothing is allocated when
/// no connection opens.
pub(crate) fn watching<F: Future + Unpin>(send: F) -> Watching<F> {
    Watching { send, opened: None }
}

/// Gives `slot` to the request being polled under [`watching`], if any (a connection opened
/// outside a request's poll belongs to no request).
fn note_opened(slot: &AlertSlot) {
    let _ = OPENED.try_with(|opened| {
        if opened.take().is_some() {
            opened.set(Some(Some(slot.clone())));
        }
    });
}

/// The future of [`watching`].
pub(crate) struct Watching<F> {
    send: F,
    opened: Option<AlertSlot>,
}

impl<F: Future + Unpin> Future for Watching<F> {
    type Output = (F::Output, Option<AlertSlot>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        /// Takes the request's slot back (and restores what was there before) when the
        /// poll ends, even by a panic.
        struct Leave<'a> {
            opened: &'a mut Option<AlertSlot>,
            outer: Option<Option<AlertSlot>>,
        }
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                *self.opened = OPENED.replace(self.outer.take()).flatten();
            }
        }
        let this = self.get_mut();
        let outer = OPENED.replace(Some(this.opened.take()));
        let leave = Leave {
            opened: &mut this.opened,
            outer,
        };
        let polled = Pin::new(&mut this.send).poll(cx);
        drop(leave);
        polled.map(|out| (out, this.opened.take()))
    }
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
        note_opened(&slot);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_opened_while_a_request_is_polled_is_that_requests() {
        let alert = "received fatal alert: CertificateRequired";
        let slot = AlertSlot::default();
        slot.0.set(alert.to_owned()).unwrap();
        let opened_late = slot.clone();
        let send = Box::pin(async move {
            tokio::task::yield_now().await;
            note_opened(&opened_late);
            tokio::task::yield_now().await;
            7
        });
        let (out, opened) = watching(send).await;
        assert_eq!(out, 7);
        assert_eq!(opened.and_then(|s| s.get()).as_deref(), Some(alert));
        // Outside a request's poll nothing is kept, so nothing reaches the next request.
        note_opened(&slot);
        let (_, opened) = watching(Box::pin(async { 1 })).await;
        assert!(opened.is_none());
    }
}
