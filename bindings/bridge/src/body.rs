//! Response bodies read from the host language chunk by chunk (or whole, capped by the
//! client's `max_body_size`). The host pulls: a chunk is read from the network only when it
//! asks for one, so a slow reader slows the sender down (backpressure), and one chunk at a
//! time is in memory. Closing (or dropping) the reader before the end aborts the transfer.

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::{watch, Mutex};

use crate::{cancelled_json, error_json};

/// What one read gave.
pub enum Chunk {
    /// The next bytes (or, from [`BodyReader::read_all`], the rest of the body).
    Data(Bytes),
    /// The body ended; every byte was read.
    End,
    /// The error document: the body failed, or was closed before its end.
    Err(String),
}

enum State {
    /// The response, and the rest of a chunk [`BodyReader::next_into`] could not place.
    Open(Box<hopsafe::Response>, Option<Bytes>),
    Done,
    Failed(String),
}

/// A response's body, shared with the host language (reads are serialised).
pub struct BodyReader {
    state: Mutex<State>,
    closed: watch::Sender<bool>,
}

impl BodyReader {
    /// The reader of `resp`'s body. Takes the body's first chunk now if the connection already has
    /// it (it is put back in front of the body), so that reading a small body needs no more
    /// trips to the runtime ([`BodyReader::try_next`]). Never waits for the network: what
    /// has not arrived is read later, as before.
    pub(crate) async fn prefetched(mut resp: hopsafe::Response) -> BodyReader {
        let end = match resp.arrived_chunk().await {
            Some(Ok(Some(bytes))) => {
                resp.unread(bytes);
                None
            }
            Some(Ok(None)) => Some(State::Done),
            Some(Err(e)) => Some(State::Failed(doc_of(e))),
            None => None,
        };
        BodyReader {
            state: Mutex::new(end.unwrap_or_else(|| State::Open(Box::new(resp), None))),
            closed: watch::Sender::new(false),
        }
    }

    /// What [`BodyReader::next`] gives when it needs no waiting (the bytes or the end are
    /// already here), else `None`: then call `next`. Never blocks; lets a blocking host skip
    /// the hand-off to the runtime.
    pub fn try_next(&self) -> Option<Chunk> {
        self.try_read(false)
    }

    /// What [`BodyReader::read_all`] gives when the whole rest of the body is already here
    /// (capped the same way), else `None`: then call `read_all`. Never blocks.
    pub fn try_read_all(&self) -> Option<Chunk> {
        self.try_read(true)
    }

    fn try_read(&self, whole: bool) -> Option<Chunk> {
        if *self.closed.borrow() {
            return None; // the waiting path reports the close
        }
        let mut state = self.state.try_lock().ok()?;
        let outcome = {
            let (resp, rest) = match &mut *state {
                State::Open(resp, rest) => (resp, rest),
                State::Done if whole => return Some(Chunk::Data(Bytes::new())),
                State::Done => return Some(Chunk::End),
                State::Failed(doc) => return Some(Chunk::Err(doc.clone())),
            };
            if let Some(rest) = rest.take() {
                if !whole {
                    return Some(Chunk::Data(rest));
                }
                resp.unread(rest);
            }
            // Timers the body read may set up need a runtime's context (no task is spawned):
            // the caller's, when it entered the one that drives the body, else the shared one.
            let _rt = tokio::runtime::Handle::try_current()
                .is_err()
                .then(|| hopsafe::runtime::shared().enter());
            if whole {
                // Take what has arrived; at its end the core's read_all (which applies
                // max_body_size) returns it at once. Otherwise put it all back.
                let mut got: Vec<Bytes> = Vec::new();
                loop {
                    match resp.chunk().now_or_never() {
                        Some(Ok(Some(b))) => got.push(b),
                        Some(Ok(None)) => {
                            resp.unread(got.concat().into());
                            break resp.read_all().now_or_never()?.map(Some);
                        }
                        Some(Err(e)) => break Err(e),
                        None => {
                            resp.unread(got.concat().into());
                            return None;
                        }
                    }
                }
            } else {
                resp.chunk().now_or_never()?
            }
        };
        Some(settle(&mut state, outcome, whole))
    }

    /// The next chunk, decoded; never capped.
    pub async fn next(&self) -> Chunk {
        self.read(false).await
    }

    /// The rest of the body at once, capped by the client's `max_body_size`
    /// (`ResponseTooLarge` past it).
    pub async fn read_all(&self) -> Chunk {
        self.read(true).await
    }

    /// Copies the next bytes into `buf` (the rest of a chunk waits for the next call):
    /// `Ok(n)`, `Ok(0)` at the end (for an empty `buf` too), or the error document. Lets the
    /// host reuse one buffer for the whole body.
    pub async fn next_into(&self, buf: &mut [u8]) -> Result<usize, String> {
        if buf.is_empty() {
            return Ok(0);
        }
        let chunk = self.read(false).await;
        let mut bytes = match chunk {
            Chunk::Data(b) => b,
            Chunk::End => return Ok(0),
            Chunk::Err(doc) => return Err(doc),
        };
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes.split_to(n));
        if !bytes.is_empty() {
            if let State::Open(_, rest) = &mut *self.state.lock().await {
                *rest = Some(bytes);
            }
        }
        Ok(n)
    }

    async fn read(&self, whole: bool) -> Chunk {
        let mut closed = self.closed.subscribe();
        let mut state = self.state.lock().await;
        let (resp, rest) = match &mut *state {
            State::Open(resp, rest) => (resp, rest),
            State::Done if whole => return Chunk::Data(Bytes::new()),
            State::Done => return Chunk::End,
            State::Failed(doc) => return Chunk::Err(doc.clone()),
        };
        let rest = rest.take();
        if let (Some(rest), false) = (&rest, whole) {
            return Chunk::Data(rest.clone());
        }
        let read = async {
            if whole {
                // The core's read_all applies max_body_size to what it reads; a leftover (part
                // of one chunk) goes in front.
                let all = resp.read_all().await?;
                Ok(Some(match rest {
                    Some(r) => [r, all].concat().into(),
                    None => all,
                }))
            } else {
                resp.chunk().await
            }
        };
        let outcome = tokio::select! {
            r = read => r,
            _ = closed.wait_for(|c| *c) => Err(hopsafe::Error::Cancelled),
        };
        settle(&mut state, outcome, whole)
    }

    /// Closes the body: a read in progress and every later one fail with `Cancelled`, and the
    /// transfer is aborted unless the body was already read to the end. Never blocks. True
    /// when this call dropped a response still open (its connection is then being closed).
    pub fn close(&self) -> bool {
        self.closed.send_replace(true);
        if let Ok(mut state) = self.state.try_lock() {
            if matches!(*state, State::Open(..)) {
                *state = State::Failed(cancelled_json());
                return true;
            }
        }
        false
    }
}

/// Records what a read gave and returns it. Dropping the response ends the transfer: after
/// the last byte the connection is already back in the pool; before it, the connection is
/// closed (the stream reset).
fn settle(state: &mut State, outcome: hopsafe::Result<Option<Bytes>>, whole: bool) -> Chunk {
    match outcome {
        Ok(Some(bytes)) => {
            if whole {
                *state = State::Done;
            }
            Chunk::Data(bytes)
        }
        Ok(None) => {
            *state = State::Done;
            Chunk::End
        }
        Err(e) => {
            let doc = doc_of(e);
            *state = State::Failed(doc.clone());
            Chunk::Err(doc)
        }
    }
}

fn doc_of(e: hopsafe::Error) -> String {
    match e {
        hopsafe::Error::Cancelled => cancelled_json(),
        e => error_json(&e),
    }
}
