//! Streamed responses: the head as a record, the body as a `ResponseBody` read chunk by chunk
//! with the core's `Response::chunk`, so nothing is buffered beyond the chunk in hand.

use std::sync::Arc;

use tokio::sync::{watch, Mutex};

use crate::blob::Blob;
use crate::client::AbortOnDrop;
use crate::error::HopsafeError;
use crate::types::{headers, history, Header, Hop};

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
    /// The body, decoded (gzip, br, zstd) as it is read.
    pub body: Arc<ResponseBody>,
}

impl StreamedResponse {
    /// The head of a core response; its body moves into the `ResponseBody`.
    pub(crate) fn new(resp: hopsafe::Response) -> Self {
        StreamedResponse {
            status: resp.status().as_u16(),
            url: resp.url().to_string(),
            method: resp.method().to_string(),
            headers: headers(resp.headers()),
            history: history(resp.history()),
            idempotency_key: resp.idempotency_key().map(str::to_owned),
            attempts: resp.attempts(),
            body: Arc::new(ResponseBody::new(resp)),
        }
    }
}

/// Where a body is: still arriving, read to its end, or given up.
#[derive(Debug)]
enum State {
    Open(Box<hopsafe::Response>),
    Ended,
    Failed(String),
    Cancelled,
}

/// The body of a `StreamedResponse`, read one chunk at a time (`next`), in order. Reading it
/// to the end returns the connection to the pool; `cancel`, or dropping the last reference
/// (Kotlin `close`/`use`, Swift releasing it), aborts the transfer and closes the connection.
/// Reads from several threads at once are served one after the other.
#[derive(Debug, uniffi::Object)]
pub struct ResponseBody {
    state: Arc<Mutex<State>>,
    cancel: watch::Sender<bool>,
}

#[uniffi::export]
impl ResponseBody {
    /// The next chunk, or `null`/`nil` at the end of the body. A read or total timeout, a
    /// connection lost mid-body or a failed decoding throws (`Timeout`, `Transport`...); after
    /// `cancel` it throws `Cancelled`. Cancelling the caller (Kotlin coroutine) aborts the
    /// transfer.
    pub async fn next(&self) -> Result<Option<Blob>, HopsafeError> {
        // A caller that stops waiting (a cancelled coroutine drops this future) aborts the
        // transfer: a chunk half read cannot be handed to anyone anyway.
        let mut unfinished = CancelOnDrop(Some(self));
        let read = Self::read(self.state.clone(), self.cancel.subscribe());
        let out = AbortOnDrop(hopsafe::runtime::shared().spawn(read)).await?;
        unfinished.0 = None;
        out
    }

    /// Like `next`, blocking the calling thread (for `InputStream`-style readers). Do not
    /// call it from an async context.
    pub fn next_blocking(&self) -> Result<Option<Blob>, HopsafeError> {
        hopsafe::runtime::block_on(Self::read(self.state.clone(), self.cancel.subscribe()))
    }

    /// Aborts the transfer: a read in progress and every later one throw `Cancelled`, the
    /// connection is closed. Does nothing once the body was read to its end.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
        // Close the connection now, or, while a read holds the body, as soon as it lets go.
        let close = |state: &mut State| {
            if matches!(state, State::Open(_)) {
                *state = State::Cancelled;
            }
        };
        match self.state.try_lock() {
            Ok(mut state) => close(&mut state),
            Err(_) => {
                let state = self.state.clone();
                hopsafe::runtime::shared().spawn(async move { close(&mut *state.lock().await) });
            }
        }
    }
}

impl ResponseBody {
    fn new(resp: hopsafe::Response) -> Self {
        ResponseBody {
            state: Arc::new(Mutex::new(State::Open(Box::new(resp)))),
            cancel: watch::Sender::new(false),
        }
    }

    /// One chunk, racing `cancel`; the state moves on at the end, on an error or a cancel.
    async fn read(
        state: Arc<Mutex<State>>,
        mut cancelled: watch::Receiver<bool>,
    ) -> Result<Option<Blob>, HopsafeError> {
        let mut state = state.lock().await;
        let resp = match &mut *state {
            State::Open(resp) => resp,
            State::Ended => return Ok(None),
            State::Failed(detail) => return Err(failed_before(detail)),
            State::Cancelled => return Err(HopsafeError::cancelled()),
        };
        let read = tokio::select! {
            biased;
            _ = cancelled.wait_for(|c| *c) => {
                *state = State::Cancelled;
                return Err(HopsafeError::cancelled());
            }
            read = resp.chunk() => read,
        };
        match read {
            Ok(Some(chunk)) => Ok(Some(Blob(chunk.to_vec()))),
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
