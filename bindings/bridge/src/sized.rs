//! Large bodies of known length, read whole straight into memory the host allocates (a
//! Python `bytes`): each chunk is copied once, into its place, as it arrives, instead of
//! being gathered into one buffer and then copied again into the host's object.

use std::mem::MaybeUninit;

use crate::{error_json, Meta, Outcome, Read};

/// Bodies at least this long (with a known length) are handed over unread as a
/// [`SizedBody`]; below it, reading them whole before returning costs less than the second
/// trip to the runtime the host then makes.
pub const SIZED_MIN: u64 = 256 << 10;

/// What [`run_sized`] gives.
pub enum Whole {
    /// Read as [`crate::run`] reads it (a small body, an unknown length, or an error).
    Done(Outcome),
    /// The metadata and the body, still to be read into [`SizedBody::len`] bytes.
    Sized { meta: Meta, body: SizedBody },
}

/// A body of known length within `max_body_size`, to read with [`SizedBody::read_into`].
pub struct SizedBody {
    resp: Box<hopsafe::Response>,
    len: usize,
}

/// [`crate::run`] with [`Read::Whole`], except that a body of at least [`SIZED_MIN`] bytes
/// whose length is known (a `Content-Length` body read as sent) within the client's
/// `max_body_size` is returned unread: the host allocates `len` bytes and calls
/// [`SizedBody::read_into`].
pub async fn run_sized(
    client: hopsafe::Client,
    req: Result<hopsafe::Request, hopsafe::Error>,
) -> Whole {
    let resp = match crate::send(client, req).await {
        Ok(resp) => resp,
        Err(doc) => return Whole::Done(Outcome::Err(doc)),
    };
    let fits = |n: u64| resp.max_body_size().is_none_or(|cap| n <= cap);
    match resp.remaining_length() {
        Some(n) if n >= SIZED_MIN && fits(n) => match usize::try_from(n) {
            Ok(len) => Whole::Sized {
                meta: Meta::of(&resp),
                body: SizedBody {
                    resp: Box::new(resp),
                    len,
                },
            },
            Err(_) => Whole::Done(crate::finish(resp, Read::Whole).await),
        },
        _ => Whole::Done(crate::finish(resp, Read::Whole).await),
    }
}

impl SizedBody {
    /// The body's length: the size of the buffer [`SizedBody::read_into`] fills.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: [`run_sized`] hands over only bodies of at least [`SIZED_MIN`] bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the body as [`crate::run`] with [`Read::Whole`] would (for a host that could not
    /// allocate the buffer).
    pub async fn read_whole(self) -> Outcome {
        crate::finish(*self.resp, Read::Whole).await
    }

    /// Reads the body into `buf` (at most [`SizedBody::len`] bytes of it are written) and
    /// returns how many bytes were written, from its start: the whole body, or fewer when the
    /// server ended it early without an error. A body longer than announced fails with
    /// `Transport`; any read error gives the error document.
    pub async fn read_into(mut self, buf: &mut [MaybeUninit<u8>]) -> Result<usize, String> {
        let len = self.len.min(buf.len());
        let buf = &mut buf[..len];
        let mut at = 0;
        loop {
            let chunk = match self.resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(at),
                Err(e) => return Err(error_json(&e)),
            };
            let Some(dest) = buf.get_mut(at..at + chunk.len()) else {
                return Err(error_json(&hopsafe::Error::Transport {
                    url: self.resp.url().to_string(),
                    reason: "the body is longer than its Content-Length".into(),
                    source: None,
                    history: self.resp.history().to_vec(),
                }));
            };
            // SAFETY: `dest` is exactly `chunk.len()` writable bytes, and a `Bytes` never
            // overlaps memory borrowed mutably here.
            unsafe {
                std::ptr::copy_nonoverlapping(chunk.as_ptr(), dest.as_mut_ptr().cast(), chunk.len())
            };
            at += chunk.len();
        }
    }
}
