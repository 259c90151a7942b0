//! Response bodies read from JS: one chunk per pull of `Response.body`, or whole.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, BufferSlice, Object};
use napi::{Env, Result};
use napi_derive::napi;

use hopsafe_bridge as bridge;

use crate::lock;
use crate::wake::Call;

/// One request's native side: `cancel()` aborts it (wired to an `AbortSignal` by `index.js`),
/// and its response body is read here into a `ReadableStream` (one chunk per pull) or whole
/// (capped by `maxBodySize`). `close()`, or dropping it, aborts the transfer unless the body
/// was read to the end. One object per request: each native object JS makes costs a wrapped
/// reference and a finalizer.
#[napi]
pub struct ResponseBody {
    pub(crate) reader: Arc<Mutex<Option<Arc<bridge::BodyReader>>>>,
    pub(crate) cancel: Arc<Mutex<CancelState>>,
    /// What BYOB reads left of the last chunk (reads are serialised by the stream).
    rest: Arc<Mutex<Rest>>,
}

/// The part of a chunk a BYOB read could not place, served before the next chunk; kept here
/// so that a read finding it needs no trip to the runtime. Dropped when the body is closed.
#[derive(Default)]
struct Rest {
    bytes: Option<Bytes>,
    closed: bool,
}

impl Rest {
    /// Copies what fits of `bytes` into `buf`; keeps the remainder unless closed meanwhile.
    fn place(&mut self, mut bytes: Bytes, buf: &mut [u8]) -> usize {
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes.split_to(n));
        if !bytes.is_empty() && !self.closed {
            self.bytes = Some(bytes);
        }
        n
    }
}

/// Whether `cancel` was called, and the request task it aborts.
pub(crate) type CancelState = (bool, Option<tokio::task::AbortHandle>);

impl Default for ResponseBody {
    fn default() -> Self {
        Self::new()
    }
}

/// One read: `ok` with `chunk` (`null` at the end), or the error document in `error`.
#[napi(object)]
pub struct NativeChunk {
    pub ok: bool,
    pub chunk: Option<Buffer>,
    pub error: Option<String>,
}

/// A BYOB read: `ok` with `n` bytes written (0 at the end), or the error document.
#[napi(object)]
pub struct NativeRead {
    pub ok: bool,
    pub n: u32,
    pub error: Option<String>,
}

#[napi]
impl ResponseBody {
    /// An empty sink for `send`/`sendStream`.
    #[napi(constructor)]
    pub fn new() -> Self {
        ResponseBody {
            reader: Arc::new(Mutex::new(None)),
            cancel: Arc::new(Mutex::new((false, None))),
            rest: Arc::default(),
        }
    }

    /// Aborts the request (the connection is dropped) and the body; harmless when they
    /// already ended.
    #[napi(catch_unwind)]
    pub fn cancel(&self) {
        let task = {
            let mut s = lock(&self.cancel);
            s.0 = true;
            s.1.clone()
        };
        // Aborted outside the lock: the aborted task's `Settle` reads it when dropped.
        if let Some(h) = task {
            h.abort();
        }
        self.close();
    }

    /// The next chunk; resolves (never rejects). A chunk is read from the network only when
    /// asked for (backpressure).
    #[napi(catch_unwind, ts_return_type = "Promise<NativeChunk>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        self.read(env, false)
    }

    /// The rest of the body at once, capped by `maxBodySize`; resolves (never rejects).
    #[napi(catch_unwind, ts_return_type = "Promise<NativeChunk>")]
    pub fn read_all<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        self.read(env, true)
    }

    /// What `next` would resolve with when it needs no waiting (the bytes or the end are
    /// already here), else `null`: then call `next`. Saves the trip to the runtime.
    #[napi(catch_unwind)]
    pub fn try_next(&self, env: &Env) -> Option<NativeChunk> {
        if let Some(b) = lock(&self.rest).bytes.take() {
            return Some(streamed_chunk(env, bridge::Chunk::Data(b)));
        }
        let reader = lock(&self.reader).clone()?;
        // Timers the read sets up belong to the runtime that drives the body.
        let _rt = hopsafe::runtime::single_worker().enter();
        reader.try_next().map(|c| streamed_chunk(env, c))
    }

    /// What `readAll` would resolve with when the whole rest of the body is already here,
    /// else `null`: then call `readAll`.
    #[napi(catch_unwind)]
    pub fn try_read_all(&self, env: &Env) -> Option<NativeChunk> {
        let reader = lock(&self.reader).clone()?;
        let _rt = hopsafe::runtime::single_worker().enter();
        reader.try_read_all().map(|c| whole_chunk(env, c))
    }

    /// The `n` that `readInto(buf)` would resolve with when it needs no waiting (the rest of
    /// a chunk, a chunk or the end is already here: copied into `buf` now), else `null`: then
    /// call `readInto`, which also reports a failed body. Saves the trip to the runtime.
    #[napi(catch_unwind)]
    pub fn try_read_into(&self, mut buf: BufferSlice) -> Option<u32> {
        if buf.is_empty() {
            return Some(0);
        }
        {
            let mut rest = lock(&self.rest);
            if rest.closed {
                return None; // the waiting path reports the close
            }
            if let Some(b) = rest.bytes.take() {
                return Some(count(rest.place(b, &mut buf)));
            }
        }
        let reader = lock(&self.reader).clone()?;
        let _rt = hopsafe::runtime::single_worker().enter();
        // A failed read leaves the body failed: `readInto` reports the same error.
        let n = self.placed(reader.try_next()?, &mut buf).ok()?;
        Some(count(n))
    }

    /// Copies the next bytes into `buf` (a BYOB read: no buffer is allocated per chunk; the
    /// rest of a chunk waits for the next call). Resolves (never rejects) with `n`, 0 at the
    /// end. Do not touch `buf` until the promise settles.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeRead>")]
    pub fn read_into<'env>(&self, env: &'env Env, mut buf: Buffer) -> Result<Object<'env>> {
        let (call, promise) = Call::new(env)?;
        if buf.is_empty() {
            call.finish(|_env| Ok(read_result(Ok(0))));
            return Ok(promise);
        }
        let reader = lock(&self.reader).clone();
        let rest = self.rest.clone();
        let held = lock(&rest).bytes.take();
        hopsafe::runtime::single_worker().spawn(async move {
            let chunk = match (held, reader) {
                (Some(b), _) => bridge::Chunk::Data(b),
                (None, Some(r)) => r.next().await,
                (None, None) => bridge::Chunk::Err(bridge::internal_json()),
            };
            let read = placed(&rest, chunk, &mut buf);
            // The JS buffer is released on the JS thread, with the result.
            call.finish(move |_env| {
                drop(buf);
                Ok(read_result(read))
            });
        });
        Ok(promise)
    }

    /// Aborts the transfer unless the body was read to the end; reads fail from then on.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        {
            let mut rest = lock(&self.rest);
            rest.closed = true;
            rest.bytes = None;
        }
        if let Some(r) = lock(&self.reader).as_ref() {
            r.close();
        }
    }
}

impl ResponseBody {
    /// Wires the request task to `cancel` (aborted now if it was already called).
    pub(crate) fn arm(&self, handle: tokio::task::AbortHandle) {
        let cancelled = {
            let mut s = lock(&self.cancel);
            s.1 = Some(handle.clone());
            s.0
        };
        if cancelled {
            handle.abort();
        }
    }

    /// Copies what `chunk` gave into `buf` (see [`placed`]).
    fn placed(&self, chunk: bridge::Chunk, buf: &mut [u8]) -> std::result::Result<usize, String> {
        placed(&self.rest, chunk, buf)
    }

    fn read<'env>(&self, env: &'env Env, whole: bool) -> Result<Object<'env>> {
        let (call, promise) = Call::new(env)?;
        let reader = lock(&self.reader).clone();
        // The rest of a chunk a BYOB read left comes first (`readAll` refuses a body already
        // being read, so only `next` finds one).
        let held = if whole {
            None
        } else {
            lock(&self.rest).bytes.take()
        };
        hopsafe::runtime::single_worker().spawn(async move {
            let chunk = match (held, reader) {
                (Some(b), _) => bridge::Chunk::Data(b),
                (None, Some(r)) if whole => r.read_all().await,
                (None, Some(r)) => r.next().await,
                (None, None) => bridge::Chunk::Err(bridge::internal_json()),
            };
            call.finish(move |env| {
                Ok(if whole {
                    whole_chunk(&env, chunk)
                } else {
                    streamed_chunk(&env, chunk)
                })
            });
        });
        Ok(promise)
    }
}

/// A BYOB read's outcome: `Ok(n)` bytes copied into `buf` (0 at the end), or the error
/// document; what does not fit is kept in `rest` for the next read.
fn placed(
    rest: &Mutex<Rest>,
    chunk: bridge::Chunk,
    buf: &mut [u8],
) -> std::result::Result<usize, String> {
    match chunk {
        bridge::Chunk::Data(b) => Ok(lock(rest).place(b, buf)),
        bridge::Chunk::End => Ok(0),
        bridge::Chunk::Err(doc) => Err(doc),
    }
}

/// A byte count for JS (a view is never 4 GiB long).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn read_result(read: std::result::Result<usize, String>) -> NativeRead {
    match read {
        Ok(n) => NativeRead {
            ok: true,
            n: count(n),
            error: None,
        },
        Err(doc) => NativeRead {
            ok: false,
            n: 0,
            error: Some(doc),
        },
    }
}

/// Bodies up to this size are copied into memory Node allocates: cheaper than handing over
/// the `Vec` (an external buffer costs V8 a weak handle and a finalizer call per body).
const COPY_MAX: usize = 16 * 1024;

/// A whole body for JS: at most one copy. A small one is copied into Node's memory; a larger
/// one moves from the core's `Bytes` into the `Buffer`'s own memory (no copy when the core
/// holds the only reference to the allocation, as a body read whole does).
fn whole_chunk(env: &Env, chunk: bridge::Chunk) -> NativeChunk {
    chunk_result(chunk, |b| {
        if b.len() <= COPY_MAX {
            BufferSlice::copy_from(env, &b)?.into_buffer(env)
        } else {
            Ok(Vec::from(b).into())
        }
    })
}

/// A streamed chunk for JS: copied once, on the JS thread, into memory Node allocates and V8
/// accounts for, so a stream read chunk by chunk is collected as it goes (a `Vec` handed over
/// as an external buffer was freed only when V8 next collected, tens of MiB later).
fn streamed_chunk(env: &Env, chunk: bridge::Chunk) -> NativeChunk {
    chunk_result(chunk, |b| BufferSlice::copy_from(env, &b)?.into_buffer(env))
}

fn chunk_result(
    chunk: bridge::Chunk,
    buffer: impl FnOnce(bytes::Bytes) -> Result<Buffer>,
) -> NativeChunk {
    match chunk {
        bridge::Chunk::Data(b) => match buffer(b) {
            Ok(buf) => NativeChunk {
                ok: true,
                chunk: Some(buf),
                error: None,
            },
            // Node could not allocate the buffer: an internal error, never a panic.
            Err(_) => NativeChunk {
                ok: false,
                chunk: None,
                error: Some(bridge::internal_json()),
            },
        },
        bridge::Chunk::End => NativeChunk {
            ok: true,
            chunk: None,
            error: None,
        },
        bridge::Chunk::Err(doc) => NativeChunk {
            ok: false,
            chunk: None,
            error: Some(doc),
        },
    }
}
