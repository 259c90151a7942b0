//! The client object, its async and blocking calls, and explicit cancellation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::Either;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::instrument::{WithDispatch, WithSubscriber};

use crate::body::BodySource;
use crate::config::{BindingPlatform, ClientConfig};
use crate::error::HopsafeError;
use crate::runner::PerThread;
use crate::stream::StreamedResponse;
use crate::types::{HttpRequest, HttpResponse};
use hopsafe::runtime::Driver;

/// Cancels the requests it was passed to. Kotlin coroutine cancellation works without it;
/// Swift task cancellation does not reach Rust, so the Swift `send` extension wires a
/// `CancelHandle` to `withTaskCancellationHandler`. Once cancelled it stays cancelled.
#[derive(Debug, uniffi::Object)]
pub struct CancelHandle {
    tx: watch::Sender<bool>,
}

#[uniffi::export]
impl CancelHandle {
    /// A handle that is not cancelled yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelHandle {
            tx: watch::Sender::new(false),
        })
    }

    /// Cancels every request using this handle: the connection is dropped and the call fails
    /// with `Cancelled`.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }
}

impl CancelHandle {
    async fn cancelled(mut rx: watch::Receiver<bool>) {
        // The request holds the handle, so the sender cannot close first; if it ever did,
        // waiting forever (never cancelling) is the safe reading.
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A spawned task that is aborted when the handle is dropped (Kotlin cancels a coroutine by
/// dropping the uniffi future).
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, HopsafeError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(HopsafeError::cancelled()),
        })
    }
}

/// An HTTP client whose writes survive redirects. Thread-safe; share one per process.
#[derive(Debug, uniffi::Object)]
pub struct HopsafeClient {
    inner: hopsafe::Client,
    /// The blocking calls' sides, one per calling thread (see `runner.rs`).
    blocking: PerThread,
    /// The listener's dispatcher, set around each call (see `listener.rs`).
    listener: Option<tracing::Dispatch>,
}

#[uniffi::export]
impl HopsafeClient {
    /// Builds a client for the binding `platform`; an invalid option fails with
    /// `InvalidConfig` or `InvalidHeader`. Applications call `HopsafeClient(config)` (Kotlin)
    /// or `HopsafeClient(config:)` (Swift), which pass their own platform. `redirect_hook`
    /// is asked before every hop; `listener` is told about every request, hop and retry of
    /// this client.
    #[uniffi::constructor(default(redirect_hook = None, listener = None))]
    pub fn for_binding(
        config: ClientConfig,
        platform: BindingPlatform,
        redirect_hook: Option<Arc<dyn crate::hook::RedirectHook>>,
        listener: Option<Arc<dyn crate::listener::HopsafeListener>>,
    ) -> Result<Arc<Self>, HopsafeError> {
        Ok(Arc::new(HopsafeClient {
            inner: config.build(platform, redirect_hook)?,
            blocking: PerThread::default(),
            listener: listener.map(crate::listener::dispatch),
        }))
    }

    /// The client's counters so far: redirects by status and origin pair (with each pair's
    /// age), headers stripped, retries by reason, and re-sent writes (`writes_delivered_twice`
    /// must stay 0).
    pub fn metrics(&self) -> crate::metrics::Metrics {
        self.inner.metrics().into()
    }

    /// Sends a request, following redirects and retrying as configured, and reads the whole
    /// body. Runs on hopsafe's shared runtime; cancelling the caller (Kotlin coroutine) or
    /// `cancel` aborts it.
    #[uniffi::method(default(cancel = None))]
    pub async fn request(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<HttpResponse, HopsafeError> {
        let work = self.request_work(request, cancel);
        AbortOnDrop(hopsafe::runtime::shared().spawn(work)).await?
    }

    /// Like `request`, blocking the calling thread, which does the network work itself (on
    /// connections of its own, for this client's blocking calls on this thread). Do not call
    /// it from an async context.
    #[uniffi::method(default(cancel = None))]
    pub fn request_blocking(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<HttpResponse, HopsafeError> {
        self.blocking_call(request, cancel, HttpResponse::read)
    }

    /// Like `request`, with the body read from `body` while the request is sent
    /// (`request.body` must be null). hopsafe keeps a copy up to the client's replay limit;
    /// a 307/308 or retry that needs more fails with `BodyNotReplayable`, never a truncated
    /// resend.
    #[uniffi::method(default(cancel = None))]
    pub async fn request_streaming(
        &self,
        request: HttpRequest,
        body: Arc<dyn BodySource>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<HttpResponse, HopsafeError> {
        let (client, source) = (self.inner.clone(), Some(body));
        let work = self.traced(work_with(
            client,
            request,
            source,
            cancel,
            HttpResponse::read,
        ));
        AbortOnDrop(hopsafe::runtime::shared().spawn(work)).await?
    }

    /// Like `request_streaming`, blocking the calling thread.
    #[uniffi::method(default(cancel = None))]
    pub fn request_streaming_blocking(
        &self,
        request: HttpRequest,
        body: Arc<dyn BodySource>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<HttpResponse, HopsafeError> {
        hopsafe::runtime::block_on(self.traced(work_with(
            self.inner.clone(),
            request,
            Some(body),
            cancel,
            HttpResponse::read,
        )))
    }

    /// Sends a request like `request`, but returns as soon as the response head is in: the
    /// body is read chunk by chunk from `StreamedResponse.body`, never buffered whole.
    /// `cancel` (or cancelling the caller) aborts it until the head is in; then cancel the
    /// body itself. With `hand_over`, the body's bytes that arrived with the head come in
    /// `StreamedResponse.first` (and `ended` says whether that was all): a small body then
    /// needs no `next` call at all.
    #[uniffi::method(default(cancel = None, hand_over = false))]
    pub async fn open(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
        hand_over: bool,
    ) -> Result<StreamedResponse, HopsafeError> {
        let work = self.traced(open_work_with(
            self.inner.clone(),
            Driver::Shared,
            request,
            None,
            cancel,
            hand_over,
        ));
        AbortOnDrop(hopsafe::runtime::shared().spawn(work)).await?
    }

    /// Like `open`, with the body read from `body` while the request is sent (as
    /// `request_streaming`; `request.body` must be null).
    #[uniffi::method(default(cancel = None, hand_over = false))]
    pub async fn open_streaming(
        &self,
        request: HttpRequest,
        body: Arc<dyn BodySource>,
        cancel: Option<Arc<CancelHandle>>,
        hand_over: bool,
    ) -> Result<StreamedResponse, HopsafeError> {
        let work = self.traced(open_work_with(
            self.inner.clone(),
            Driver::Shared,
            request,
            Some(body),
            cancel,
            hand_over,
        ));
        AbortOnDrop(hopsafe::runtime::shared().spawn(work)).await?
    }

    /// Like `open`, blocking the calling thread (which does the network work itself, as in
    /// `request_blocking`) until the response head is in.
    #[uniffi::method(default(cancel = None, hand_over = false))]
    pub fn open_blocking(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
        hand_over: bool,
    ) -> Result<StreamedResponse, HopsafeError> {
        let blocking = self.blocking.side(&self.inner)?;
        let (client, runner) = (blocking.client.clone(), blocking.runner.clone());
        let work = open_work_with(client, runner, request, None, cancel, hand_over);
        blocking.runner.block_on(self.traced(work))
    }
}

impl HopsafeClient {
    /// A client with the core's defaults, for tests.
    #[cfg(test)]
    pub(crate) fn plain() -> Arc<Self> {
        Self::of(hopsafe::Client::builder().build().expect("client"))
    }

    /// A client over the core client `inner`, for tests.
    #[cfg(test)]
    pub(crate) fn of(inner: hopsafe::Client) -> Arc<Self> {
        Arc::new(HopsafeClient {
            inner,
            blocking: PerThread::default(),
            listener: None,
        })
    }

    /// `work` with the listener's dispatcher set while it runs (unchanged without a listener).
    fn traced<F: Future>(&self, work: F) -> Either<WithDispatch<F>, F> {
        match &self.listener {
            Some(d) => Either::Left(work.with_subscriber(d.clone())),
            None => Either::Right(work),
        }
    }
}

/// Validate, send (the body, if any, pulled from a foreign source), and stop at the response
/// head and what of the body came with it (its connection on `runner`); racing `cancel`.
fn open_work_with(
    client: hopsafe::Client,
    runner: Driver,
    request: HttpRequest,
    source: Option<Arc<dyn BodySource>>,
    cancel: Option<Arc<CancelHandle>>,
    hand_over: bool,
) -> impl Future<Output = Result<StreamedResponse, HopsafeError>> + Send + 'static {
    let exchange = async move {
        let core = with_source(request, source)?;
        let resp = client.execute(core).await?;
        Ok(StreamedResponse::new(resp, hand_over, runner).await)
    };
    racing(exchange, cancel)
}

/// The whole call as a `'static` future: validate, send (the body, if any, pulled from a
/// foreign source), read the body with `read` (`HttpResponse::read`, or `pieces::read` for
/// Kotlin's direct calls); racing `cancel`.
fn work_with<T: Send + 'static, R: Future<Output = Result<T, HopsafeError>> + Send + 'static>(
    client: hopsafe::Client,
    request: HttpRequest,
    source: Option<Arc<dyn BodySource>>,
    cancel: Option<Arc<CancelHandle>>,
    read: impl FnOnce(hopsafe::Response) -> R + Send + 'static,
) -> impl Future<Output = Result<T, HopsafeError>> + Send + 'static {
    let exchange = async move {
        let core = with_source(request, source)?;
        let resp = client.execute(core).await?;
        read(resp).await
    };
    racing(exchange, cancel)
}

/// `exchange`, failing with `Cancelled` as soon as `cancel` is cancelled.
async fn racing<T>(
    exchange: impl Future<Output = Result<T, HopsafeError>>,
    cancel: Option<Arc<CancelHandle>>,
) -> Result<T, HopsafeError> {
    // Holding `cancel` keeps its sender alive for the whole call.
    let Some(rx) = cancel.as_ref().map(|c| c.tx.subscribe()) else {
        return exchange.await;
    };
    tokio::select! {
        biased;
        () = CancelHandle::cancelled(rx) => Err(HopsafeError::cancelled()),
        r = exchange => r,
    }
}

/// The core request, its body pulled from `source` when there is one.
fn with_source(
    request: HttpRequest,
    source: Option<Arc<dyn BodySource>>,
) -> Result<hopsafe::Request, HopsafeError> {
    if source.is_some() && request.body.is_some() {
        return Err(HopsafeError::from(hopsafe::Error::InvalidConfig {
            reason: "pass the body either as bytes or as a BodySource, not both".into(),
        }));
    }
    let mut core = request.into_core()?;
    if let Some(source) = source {
        core.body = crate::body::from_source(source);
    }
    Ok(core)
}

impl HopsafeClient {
    /// `request`'s whole call as a `'static` future.
    fn request_work(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
    ) -> impl Future<Output = Result<HttpResponse, HopsafeError>> + Send + 'static {
        self.traced(work_with(
            self.inner.clone(),
            request,
            None,
            cancel,
            HttpResponse::read,
        ))
    }

    /// `request`'s whole call, the body left in the pieces it arrived in (`pieces.rs`), for
    /// Kotlin's direct suspend call (`direct_async.rs`).
    pub(crate) fn request_pieces_work(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
    ) -> impl Future<Output = Result<(HttpResponse, Vec<bytes::Bytes>), HopsafeError>> + Send + 'static
    {
        let read = crate::pieces::read;
        self.traced(work_with(self.inner.clone(), request, None, cancel, read))
    }

    /// `request_blocking`, the body left in the pieces it arrived in (`pieces.rs`), for
    /// Kotlin's direct blocking call (`direct.rs`).
    pub(crate) fn request_blocking_pieces(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<(HttpResponse, Vec<bytes::Bytes>), HopsafeError> {
        self.blocking_call(request, cancel, crate::pieces::read)
    }

    /// A blocking call on this thread's side of the client (its own connections), the body
    /// read with `read`.
    fn blocking_call<
        T: Send + 'static,
        R: Future<Output = Result<T, HopsafeError>> + Send + 'static,
    >(
        &self,
        request: HttpRequest,
        cancel: Option<Arc<CancelHandle>>,
        read: impl FnOnce(hopsafe::Response) -> R + Send + 'static,
    ) -> Result<T, HopsafeError> {
        let blocking = self.blocking.side(&self.inner)?;
        let work = work_with(blocking.client.clone(), request, None, cancel, read);
        blocking.runner.block_on(self.traced(work))
    }
}

#[cfg(test)]
#[path = "blocking_tests.rs"]
mod blocking_tests;
