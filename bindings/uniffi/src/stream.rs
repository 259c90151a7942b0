//! Streamed responses: the head as a record, the body as a `ResponseBody` read chunk by chunk
//! with the core's `Response::chunk`, so nothing is buffered beyond the chunk in hand (and
//! what had already arrived at open time, up to `readahead::AHEAD_MAX`).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::{watch, Mutex};

use crate::blob::Blob;
use crate::error::HopsafeError;
use crate::readahead::{take_arrived, Ahead};
use crate::types::{headers, history, Header, Hop};
use hopsafe::runtime::Driver;

/// A response whose body has not been read yet: the body is read from `body`.
#[derive(Debug, uniffi::Record)]
pub struct StreamedResponse {
    /// Status code.
    pub status: u16,
    /// The final URL (after redirects).
    pub url: String,
    /// The method of the final request.
    pub method: String,
    /// Response header fields, in order.
    pub headers: Vec<Header>,
    /// Every redirect followed, oldest first.
    pub history: Vec<Hop>,
    /// The idempotency key the final request carried, if any.
    pub idempotency_key: Option<String>,
    /// Attempts made for the final request (1 without retries).
    pub attempts: u32,
    /// Only when `open` was asked to `hand_over`: the body's first bytes (decoded), those that
    /// had already arrived with the head (up to 64 KiB); read them before `body`.
    pub first: Option<Blob>,
    /// Whether `first` (or nothing, for an empty body) is the whole body: `body` is then at
    /// its end and the connection already back in the pool. Always false without `hand_over`.
    pub ended: bool,
    /// The body, decoded (gzip, br, zstd) as it is read.
    pub body: Arc<ResponseBody>,
}

impl StreamedResponse {
    /// The head of a core response; its body moves into the `ResponseBody`, with what of it
    /// has already arrived taken ahead (never waiting for more), handed over in `first` when
    /// `hand_over`. Call it on `runner`, the runtime of the response's connection.
    pub(crate) async fn new(mut resp: hopsafe::Response, hand_over: bool, runner: Driver) -> Self {
        let (first, state) = match take_arrived(&mut resp).await {
            Ahead::More(bytes) if hand_over => (bytes, None),
            Ahead::More(bytes) => {
                resp.unread(bytes);
                (Bytes::new(), None)
            }
            Ahead::Last(bytes, after) if hand_over => {
                (bytes, Some(State::Last(Bytes::new(), after)))
            }
            Ahead::Last(bytes, after) => (Bytes::new(), Some(State::Last(bytes, after))),
        };
        let ended = hand_over && matches!(&state, Some(State::Last(_, None)));
        StreamedResponse {
            status: resp.status().as_u16(),
            url: resp.url().to_string(),
            method: resp.method().to_string(),
            headers: headers(resp.headers()),
            history: history(resp.history()),
            idempotency_key: resp.idempotency_key().map(str::to_owned),
            attempts: resp.attempts(),
            first: (!first.is_empty()).then(|| Blob(first.to_vec())),
            ended,
            // A body taken whole drops the response here: its connection goes back to the pool.
            body: Arc::new(ResponseBody::new(
                match state {
                    Some(_) if ended => State::Ended,
                    Some(state) => state,
                    None => State::Open(Box::new(resp)),
                },
                runner,
            )),
        }
    }
}

/// Where a body is: still arriving, all taken (the connection is done with it) but not all
/// handed over, read to its end, or given up.
#[derive(Debug)]
enum State {
    Open(Box<hopsafe::Response>),
    /// The rest of the body, then its end (`None`) or the error that followed.
    Last(Bytes, Option<hopsafe::Error>),
    Ended,
    Failed(String),
    Cancelled,
}

/// The body of a `StreamedResponse`, read one chunk at a time (`next`), in order. Reading it
/// to the end (or opening a small body that arrived whole with its head) returns the
/// connection to the pool; `cancel`, or dropping the last reference (Kotlin `close`/`use`,
/// Swift releasing it), aborts the transfer and closes the connection. A read of bytes already
/// here is served on the calling thread, without a hand-off to the runtime. Reads from
/// several threads at once are served one after the other.
#[derive(Debug, uniffi::Object)]
pub struct ResponseBody {
    state: Arc<Mutex<State>>,
    cancel: watch::Sender<bool>,
    /// Where the connection lives: reads go there.
    runner: Driver,
}

#[uniffi::export]
impl ResponseBody {
    /// The next chunk, or `null`/`nil` at the end of the body. A read or total timeout, a
    /// connection lost mid-body or a failed decoding throws (`Timeout`, `Transport`...); after
    /// `cancel` it throws `Cancelled`. Cancelling the caller (Kotlin coroutine) aborts the
    /// transfer.
    pub async fn next(&self) -> Result<Option<Blob>, HopsafeError> {
        if let Some(ready) = self.try_read() {
            return ready.map(blob); // already here: no hand-off to the runtime
        }
        // A caller that stops waiting (a cancelled coroutine drops this future) aborts the
        // transfer: a chunk half read cannot be handed to anyone anyway.
        let mut unfinished = CancelOnDrop(Some(self));
        let read = Self::read(self.state.clone(), self.cancel.subscribe());
        let out = crate::runner::run_async(&self.runner, read).await?;
        unfinished.0 = None;
        out.map(blob)
    }

    /// Like `next`, blocking the calling thread (for `InputStream`-style readers). Do not
    /// call it from an async context.
    pub fn next_blocking(&self) -> Result<Option<Blob>, HopsafeError> {
        self.next_chunk_blocking().map(blob)
    }

    /// Aborts the transfer: a read in progress and every later one throw `Cancelled`, the
    /// connection is closed. Does nothing once the body was read to its end.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
        // Close the connection now, or, while a read holds the body, as soon as it lets go.
        let close = |state: &mut State| {
            if matches!(state, State::Open(_) | State::Last(..)) {
                *state = State::Cancelled;
            }
        };
        match self.state.try_lock() {
            Ok(mut state) => {
                close(&mut state);
                drop(state);
                self.runner.settle();
            }
            Err(_) => {
                let state = self.state.clone();
                hopsafe::runtime::shared().spawn(async move { close(&mut *state.lock().await) });
            }
        }
    }
}

impl ResponseBody {
    /// `next_blocking`'s chunk as the core hands it over, not copied (Kotlin's direct reader,
    /// `direct_stream.rs`, copies it straight into the caller's array).
    pub(crate) fn next_chunk_blocking(&self) -> Result<Option<Bytes>, HopsafeError> {
        if let Some(ready) = self.try_read() {
            return ready;
        }
        let read = Self::read(self.state.clone(), self.cancel.subscribe());
        self.runner.block_on(read)
    }

    /// The next chunk only if it needs no waiting (it, the end or the failure are already
    /// here); `None` otherwise, a cancel included (`next` reports it).
    pub(crate) fn ready_chunk(&self) -> Option<Result<Option<Bytes>, HopsafeError>> {
        self.try_read()
    }

    fn new(state: State, runner: Driver) -> Self {
        ResponseBody {
            state: Arc::new(Mutex::new(state)),
            cancel: watch::Sender::new(false),
            runner,
        }
    }

    /// What `read` gives when it needs no waiting (the bytes, the end or the failure are
    /// already here), else `None`. Never blocks: lets `next` and `next_blocking` skip the
    /// hand-off to the runtime.
    fn try_read(&self) -> Option<Result<Option<Bytes>, HopsafeError>> {
        if *self.cancel.borrow() {
            return None; // `read` reports the cancel and moves the state on
        }
        let mut state = self.state.try_lock().ok()?;
        if let Some(done) = without_network(&mut state) {
            return Some(done);
        }
        let State::Open(resp) = &mut *state else {
            return None;
        };
        // Timers the body read may set up belong to the runtime that drives the connection
        // (no task is spawned).
        let _rt = self.runner.handle().enter();
        let read = resp.chunk().now_or_never()?;
        Some(settle(&mut state, read))
    }

    /// One chunk, racing `cancel`; the state moves on at the end, on an error or a cancel.
    async fn read(
        state: Arc<Mutex<State>>,
        mut cancelled: watch::Receiver<bool>,
    ) -> Result<Option<Bytes>, HopsafeError> {
        let mut state = state.lock().await;
        if *cancelled.borrow() && matches!(*state, State::Last(..)) {
            *state = State::Cancelled;
        }
        if let Some(done) = without_network(&mut state) {
            return done;
        }
        let State::Open(resp) = &mut *state else {
            unreachable!("every other state is answered without the network");
        };
        let read = tokio::select! {
            biased;
            _ = cancelled.wait_for(|c| *c) => {
                *state = State::Cancelled;
                return Err(HopsafeError::cancelled());
            }
            read = resp.chunk() => read,
        };
        settle(&mut state, read)
    }
}

/// The answer of a body that is not `Open`, moving its state on; `None` while it is open.
fn without_network(state: &mut State) -> Option<Result<Option<Bytes>, HopsafeError>> {
    match state {
        State::Open(_) => None,
        State::Last(bytes, _) if !bytes.is_empty() => Some(Ok(Some(std::mem::take(bytes)))),
        State::Last(_, after) => {
            let read = match after.take() {
                None => Ok(None),
                Some(e) => Err(e),
            };
            Some(settle(state, read))
        }
        State::Ended => Some(Ok(None)),
        State::Failed(detail) => Some(Err(failed_before(detail))),
        State::Cancelled => Some(Err(HopsafeError::cancelled())),
    }
}

/// Hands a chunk read from the connection over; the state moves on at the end or an error.
fn settle(
    state: &mut State,
    read: hopsafe::Result<Option<Bytes>>,
) -> Result<Option<Bytes>, HopsafeError> {
    match read {
        Ok(Some(chunk)) => Ok(Some(chunk)),
        Ok(None) => {
            *state = State::Ended;
            Ok(None)
        }
        Err(e) => {
            *state = State::Failed(e.to_string());
            Err(e.into())
        }
    }
}

impl Drop for ResponseBody {
    /// The last reference gone before the end, on a caller-driven runtime: the connection is
    /// closed now, not at the next blocking call (on the shared runtime that happens anyway).
    fn drop(&mut self) {
        if let (Driver::Caller(_), Ok(mut state)) = (&self.runner, self.state.try_lock()) {
            if matches!(*state, State::Open(_)) {
                *state = State::Cancelled;
                drop(state);
                self.runner.settle();
            }
        }
    }
}

/// A chunk as uniffi hands it over (copied into the serialised answer).
fn blob(chunk: Option<Bytes>) -> Option<Blob> {
    chunk.map(|c| Blob(c.to_vec()))
}

/// Cancels the body unless disarmed (set to `None`) first.
struct CancelOnDrop<'a>(Option<&'a ResponseBody>);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(body) = self.0 {
            body.cancel();
        }
    }
}

/// A read after the body already failed: the same cause again, never a clean end.
fn failed_before(detail: &str) -> HopsafeError {
    HopsafeError::Transport {
        detail: format!("the response body already failed: {detail}"),
        url: None,
        history: Vec::new(),
        write_accepted: false,
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
