//! A streamed body read by Kotlin's `InputStream` without a `ByteArray` per chunk: plain C
//! functions bound with JNA direct mapping (`DirectStream.kt`).
//!
//! `ResponseBody.next_blocking` hands each chunk over as a new serialised buffer that uniffi's
//! Kotlin turns into a new `ByteArray` (and a few JNA `Structure`s): a 1 GiB download made
//! 1 GiB of short-lived garbage, and G1 grew its young generation (the process's RSS) by over
//! 100 MiB for it. Here a reader keeps the chunk the core handed over, Kotlin copies from it
//! straight into the caller's array (`Pointer.read`), and the next call drops it: one chunk
//! of native memory at a time, nothing allocated on the JVM per chunk.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use uniffi::{Handle, Lift, Lower};

use crate::direct::panic_message;
use crate::error::HopsafeError;
use crate::stream::ResponseBody;
use crate::UniFfiTag;

/// A chunk is at `out[0..2]` (address, length; never empty).
const CHUNK: i32 = 0;
/// `out[0..2]` holds a serialised `HopsafeError`.
const ERROR: i32 = 1;
/// `out[0..2]` holds a UTF-8 message: the binding itself failed (a panic).
const INTERNAL: i32 = 2;
/// The body is at its end.
const END: i32 = 3;
/// Nothing is ready (only without `wait`): the next chunk needs waiting for.
const PENDING: i32 = 4;

/// A body being read, and what the last read handed over (alive until the next one).
struct Reader {
    /// Not kept alive by the reader: destroying the Kotlin `ResponseBody` (closing the
    /// response) still aborts the transfer, and a read after it is `Cancelled`.
    body: Weak<ResponseBody>,
    /// The chunk handed over last.
    chunk: Bytes,
    /// The serialised error or message handed over last.
    answer: Vec<u8>,
}

/// A reader of the `ResponseBody` handle clone `body` (taken over and released: the reader
/// does not keep the body), to pass to [`hopsafe_kt_body_next`] and free with
/// [`hopsafe_kt_body_free`]; 0 when `body` is not a live handle.
///
/// # Safety
/// `body` must be a handle clone from uniffi's `clone` function of `ResponseBody`.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_body_reader(body: u64) -> i64 {
    let lifted = <Arc<ResponseBody> as Lift<UniFfiTag>>::try_lift(Handle::from_raw_unchecked(body));
    match lifted {
        Ok(body) => Box::into_raw(Box::new(Reader {
            body: Arc::downgrade(&body),
            chunk: Bytes::new(),
            answer: Vec::new(),
        })) as i64,
        Err(_) => 0,
    }
}

/// Drops what `reader` handed over last and reads the next chunk of its body, blocking the
/// calling thread when `wait` != 0 (else returning `PENDING` when it is not here yet),
/// writing the address and length of what it hands over to `out[0..2]`: returns `CHUNK`,
/// `END`, `ERROR`, `INTERNAL` or `PENDING`. What is handed over stays valid until the next
/// call or [`hopsafe_kt_body_free`]. Never unwinds.
///
/// # Safety
/// `reader` must come from [`hopsafe_kt_body_reader`], not freed, and not in another call;
/// `out` must be writable for 2.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_body_next(reader: i64, wait: i8, out: *mut i64) -> i32 {
    // SAFETY: the caller guarantees a live reader used by one call at a time.
    let reader = unsafe { &mut *(reader as *mut Reader) };
    reader.chunk = Bytes::new();
    reader.answer = Vec::new();
    let read = catch_unwind(AssertUnwindSafe(|| {
        let Some(body) = reader.body.upgrade() else {
            return Some(Err(HopsafeError::cancelled()));
        };
        loop {
            let read = if wait != 0 {
                Some(body.next_chunk_blocking())
            } else {
                body.ready_chunk()
            };
            match read {
                Some(Ok(Some(chunk))) if chunk.is_empty() => continue,
                other => break other,
            }
        }
    }));
    let (code, ptr, len) = match read {
        Ok(None) => (PENDING, std::ptr::null(), 0),
        Ok(Some(Ok(Some(chunk)))) => {
            reader.chunk = chunk;
            (CHUNK, reader.chunk.as_ptr(), reader.chunk.len())
        }
        Ok(Some(Ok(None))) => (END, std::ptr::null(), 0),
        Ok(Some(Err(e))) => {
            <HopsafeError as Lower<UniFfiTag>>::write(e, &mut reader.answer);
            (ERROR, reader.answer.as_ptr(), reader.answer.len())
        }
        Err(panic) => {
            reader.answer = panic_message(&*panic).into_bytes();
            (INTERNAL, reader.answer.as_ptr(), reader.answer.len())
        }
    };
    // SAFETY: the caller guarantees 2 writable slots.
    unsafe {
        out.write(ptr as i64);
        out.add(1).write(len as i64);
    }
    code
}

/// Frees a reader and what it handed over last.
///
/// # Safety
/// `reader` must come from [`hopsafe_kt_body_reader`], freed once, in no call.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_body_free(reader: i64) {
    // SAFETY: the caller passes back what `hopsafe_kt_body_reader` leaked.
    drop(unsafe { Box::from_raw(reader as *mut Reader) });
}

#[cfg(test)]
#[path = "direct_stream_tests.rs"]
mod tests;
