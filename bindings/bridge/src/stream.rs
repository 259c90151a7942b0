//! Request bodies fed chunk by chunk from a host-language thread: the host pushes, the core
//! pulls. The core keeps a replay copy up to the client's limit, so a 307/308 or a retry can
//! resend what was streamed, and fails with `BodyNotReplayable` when it cannot.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::mpsc;

type Chunk = Result<Bytes, std::io::Error>;

/// The host side of a streamed body.
#[derive(Clone)]
pub struct BodySender {
    tx: mpsc::Sender<Chunk>,
}

/// A streamed body and the sender that feeds it; `capacity` chunks may wait in between.
pub fn body_channel(capacity: usize) -> (BodySender, hopsafe::Body) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (BodySender { tx }, hopsafe::Body::from_stream(Chunks { rx }))
}

impl BodySender {
    /// Blocks until the core takes `chunk`. `false` once the core no longer reads the body
    /// (the request ended, or the method changed and the body was dropped): stop producing.
    /// Must not be called from inside an async context.
    pub fn send_blocking(&self, chunk: Vec<u8>) -> bool {
        self.tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
    }

    /// Waits until the core takes `chunk`; `false` as for [`BodySender::send_blocking`].
    pub async fn send(&self, chunk: Vec<u8>) -> bool {
        self.tx.send(Ok(Bytes::from(chunk))).await.is_ok()
    }

    /// Ends the body with an error: the core aborts the send (the server never sees the cut
    /// body as complete) and the request fails with `BodyStream`. Done once delivered.
    pub async fn fail_async(self, reason: String) {
        let _ = self.tx.send(Err(failure(&reason))).await;
    }

    /// [`BodySender::fail_async`] without waiting: delivered by a task on `rt`, the runtime
    /// that runs the request (the body cannot end cleanly in the meantime, since this sender
    /// lives on in that task).
    pub fn fail_in_background(self, rt: &tokio::runtime::Handle, reason: String) {
        rt.spawn(self.fail_async(reason));
    }
}

fn failure(reason: &str) -> std::io::Error {
    std::io::Error::other(reason.to_owned())
}

struct Chunks {
    rx: mpsc::Receiver<Chunk>,
}

impl futures_util::Stream for Chunks {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.rx.poll_recv(cx)
    }
}
