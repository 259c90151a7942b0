//! Request bodies, and how they are kept so a 307/308 or a retry can send them again.
//!
//! A `Bytes` body is replayed by a cheap clone. A one-shot stream is copied into a replay
//! buffer while it is sent, up to a limit; if a replay is needed and the stream was larger
//! than the limit, the engine fails with [`Error::BodyNotReplayable`](crate::Error) instead
//! of sending an empty or truncated body.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http_body::Frame;

/// A boxed stream of body chunks.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync>>;

/// A request body: nothing, bytes, or a one-shot stream.
#[derive(Default)]
pub struct Body {
    pub(crate) kind: BodyKind,
}

#[derive(Default)]
pub(crate) enum BodyKind {
    #[default]
    Empty,
    Bytes(Bytes),
    Stream(BodyStream),
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Body::default()
    }

    /// A one-shot stream, buffered for replay up to the client's replay limit.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        Body {
            kind: BodyKind::Stream(Box::pin(stream)),
        }
    }

    /// The bytes, when the body is not a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            BodyKind::Empty => Some(&[]),
            BodyKind::Bytes(b) => Some(b),
            BodyKind::Stream(_) => None,
        }
    }

    /// Whether this is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Stream(_))
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            BodyKind::Empty => f.write_str("Body::Empty"),
            BodyKind::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            BodyKind::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body {
            kind: BodyKind::Bytes(b),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

/// The body as the engine holds it across hops.
pub(crate) enum Replayable {
    /// Known bytes (possibly empty): every send is a clone.
    Bytes(Bytes),
    /// A stream not yet sent.
    Fresh(BodyStream),
    /// A stream that has been (partly) sent; its copy lives in the shared state.
    Copying(Arc<Mutex<StreamCopy>>),
}

/// A caller's stream being sent and, at the same time, copied for replay (shared by the
/// [`SendBody`] that sends it and the [`Replayable`] that keeps the copy).
pub(crate) struct StreamCopy {
    source: Option<BodyStream>,
    copy: BytesMut,
    limit: usize,
    overflowed: bool,
    finished: bool,
    failed: Option<String>,
    /// The engine took the stream over to finish the replay copy: the send that was
    /// reading it must abort, never end, even once the copy is complete.
    handed_over: bool,
}

impl Replayable {
    pub(crate) fn new(body: Body) -> Self {
        match body.kind {
            BodyKind::Empty => Replayable::Bytes(Bytes::new()),
            BodyKind::Bytes(b) => Replayable::Bytes(b),
            BodyKind::Stream(s) => Replayable::Fresh(s),
        }
    }

    /// Length in bytes when known.
    pub(crate) fn known_len(&self) -> Option<u64> {
        match self {
            Replayable::Bytes(b) => Some(b.len() as u64),
            _ => None,
        }
    }

    /// The body to send for the next attempt. A fresh stream is copied for replay while it is sent.
    pub(crate) fn next_send(&mut self, limit: usize) -> SendBody {
        match std::mem::replace(self, Replayable::Bytes(Bytes::new())) {
            Replayable::Bytes(b) => {
                *self = Replayable::Bytes(b.clone());
                SendBody::full(b)
            }
            Replayable::Fresh(stream) => {
                let copy = Arc::new(Mutex::new(StreamCopy {
                    source: Some(stream),
                    copy: BytesMut::new(),
                    limit,
                    overflowed: false,
                    finished: false,
                    failed: None,
                    handed_over: false,
                }));
                *self = Replayable::Copying(copy.clone());
                SendBody::Copying(copy)
            }
            Replayable::Copying(copy) => {
                // Only reached if `finish_replay_copy` was not called; treat as not replayable.
                *self = Replayable::Copying(copy);
                SendBody::full(Bytes::new())
            }
        }
    }

    /// The error the caller's stream ended with, if it failed while being sent.
    pub(crate) fn stream_failure(&self) -> Option<String> {
        match self {
            Replayable::Copying(copy) => lock(copy).failed.clone(),
            _ => None,
        }
    }

    /// After an attempt: reads whatever the server did not read, so the copy is whole, and
    /// turns the body into bytes. Returns the limit when the stream was too large to keep,
    /// or the stream's own error.
    pub(crate) async fn finish_replay_copy(&mut self) -> Result<(), ReplayCopyError> {
        let Replayable::Copying(copy) = self else {
            return Ok(());
        };
        let copy = copy.clone();
        lock(&copy).handed_over = true;
        loop {
            let mut source = {
                let mut t = lock(&copy);
                if let Some(e) = &t.failed {
                    return Err(ReplayCopyError::Stream(e.clone()));
                }
                if t.overflowed {
                    return Err(ReplayCopyError::TooLarge(t.limit));
                }
                if t.finished {
                    let bytes = std::mem::take(&mut t.copy).freeze();
                    drop(t);
                    *self = Replayable::Bytes(bytes);
                    return Ok(());
                }
                match t.source.take() {
                    Some(s) => s,
                    None => return Err(ReplayCopyError::TooLarge(t.limit)),
                }
            };
            let item = source.next().await;
            let mut t = lock(&copy);
            t.source = Some(source);
            t.record(item);
        }
    }
}

/// Why [`Replayable::finish_replay_copy`] could not keep the whole body.
pub(crate) enum ReplayCopyError {
    TooLarge(usize),
    Stream(String),
}

impl StreamCopy {
    fn record(&mut self, item: Option<Result<Bytes, std::io::Error>>) {
        match item {
            None => {
                self.finished = true;
                self.source = None;
            }
            Some(Err(e)) => self.failed = Some(e.to_string()),
            Some(Ok(chunk)) => {
                if !self.overflowed && self.copy.len() + chunk.len() <= self.limit {
                    self.copy.extend_from_slice(&chunk);
                } else {
                    self.overflowed = true;
                    self.copy = BytesMut::new();
                }
            }
        }
    }
}

fn lock(copy: &Mutex<StreamCopy>) -> std::sync::MutexGuard<'_, StreamCopy> {
    copy.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The body of one attempt, as handed to hyper.
pub(crate) enum SendBody {
    /// Known bytes, sent at once (`None` once sent, or when empty).
    Full(Option<Bytes>),
    /// The caller's stream, copied for replay as it is read.
    Copying(Arc<Mutex<StreamCopy>>),
}

impl SendBody {
    pub(crate) fn full(b: Bytes) -> Self {
        SendBody::Full((!b.is_empty()).then_some(b))
    }
}

impl http_body::Body for SendBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            SendBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            SendBody::Copying(copy) => {
                let mut t = lock(copy);
                // The engine took the stream over to finish the replay copy (the server
                // answered before the upload ended): abort this send rather than end it,
                // so the server never sees a cut body as complete, even when the copy has
                // since read the stream to its end.
                if t.handed_over {
                    let e = std::io::Error::other("request body handed over for replay");
                    return Poll::Ready(Some(Err(e)));
                }
                if t.finished {
                    return Poll::Ready(None);
                }
                let Some(source) = t.source.as_mut() else {
                    let e = std::io::Error::other("request body stream is gone");
                    return Poll::Ready(Some(Err(e)));
                };
                match source.as_mut().poll_next(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(item) => {
                        let out = match &item {
                            Some(Ok(chunk)) => Some(Ok(Frame::data(chunk.clone()))),
                            Some(Err(e)) => Some(Err(std::io::Error::new(e.kind(), e.to_string()))),
                            None => None,
                        };
                        t.record(item);
                        Poll::Ready(out)
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SendBody::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            SendBody::Full(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            SendBody::Copying(_) => http_body::SizeHint::default(),
        }
    }
}
