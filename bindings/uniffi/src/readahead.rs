//! What of a response body is taken at open time: whatever the connection already has, up to
//! [`AHEAD_MAX`], never waiting for the network. A small body that has arrived with its head
//! is then read from Kotlin or Swift without another trip to the runtime (each is a thread
//! hand-off, which profiling showed to dominate the OkHttp adapter's small requests).

use bytes::Bytes;

/// Bytes taken ahead at most: a big body is left to the reader's pace (backpressure).
pub(crate) const AHEAD_MAX: usize = 64 * 1024;

/// What was taken.
#[derive(Debug)]
pub(crate) enum Ahead {
    /// These bytes (maybe none), and the body goes on (or has not arrived yet).
    More(Bytes),
    /// The whole rest of the body: these bytes, then its end or the error that followed.
    Last(Bytes, Option<hopsafe::Error>),
}

/// Takes from `resp`'s body what has already arrived, up to [`AHEAD_MAX`]. Call it on the
/// runtime (the body's timers need it). Bytes not handed over go back with `Response::unread`.
pub(crate) async fn take_arrived(resp: &mut hopsafe::Response) -> Ahead {
    let mut taken: Vec<Bytes> = Vec::new();
    let mut total = 0;
    while total < AHEAD_MAX {
        match resp.arrived_chunk().await {
            None => break,
            Some(Ok(Some(bytes))) => {
                total += bytes.len();
                taken.push(bytes);
            }
            Some(Ok(None)) => return Ahead::Last(joined(taken), None),
            Some(Err(e)) => return Ahead::Last(joined(taken), Some(e)),
        }
    }
    Ahead::More(joined(taken))
}

/// The chunks as one (without a copy for a single chunk).
fn joined(mut chunks: Vec<Bytes>) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => chunks.concat().into(),
    }
}
