//! `request_blocking` and `open_blocking` for Kotlin without JNA `Structure`s: plain C functions taking and
//! returning primitives and a `byte[]`, bound with JNA direct mapping (`Direct.kt`).
//!
//! uniffi's Kotlin passes and returns each `RustBuffer` by value, as a JNA `Structure`: a
//! reflective object with native memory under JNA's cleaner. A blocking request made three
//! (the request, the optional cancel handle, the response) plus one per `rustbuffer_alloc`,
//! and a profile of 64 threads of small GETs put more CPU in them than in hopsafe's Rust.
//! Here the request comes in a Java array and the answer goes back as address and length of a
//! Rust buffer, which Kotlin reads in place and frees with [`hopsafe_kt_free`]; a large
//! response body is left out of it, as the pieces it arrived in (`pieces.rs`). The bytes are
//! uniffi's own serialisation of `HttpRequest`, `HttpResponse` and `HopsafeError`, read and
//! written by uniffi's converters on both sides, so nothing is translated twice. Swift does
//! not call these.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use uniffi::{Handle, Lift, Lower};

use crate::client::{CancelHandle, HopsafeClient};
use crate::error::HopsafeError;
use crate::types::HttpRequest;
use crate::UniFfiTag;

/// The call returned an `HttpResponse`.
const OK: i32 = 0;
/// The call failed with a `HopsafeError`.
const ERROR: i32 = 1;
/// The binding itself failed (bad input or a panic): the buffer holds a UTF-8 message.
const INTERNAL: i32 = 2;

/// `HopsafeClient.request_blocking` for the client handle `client` and the cancel handle
/// `cancel` (0 = none), both clones the call takes over as uniffi's calls do, and the
/// request serialised by uniffi in `request[..request_len]`. Writes to `out[0..5]` the
/// answer's address and length, the address and count of the `[address, length]` pairs of
/// the body pieces left out of it (count 0: none), and the handle to free it all with
/// `hopsafe_kt_free`; returns `OK`, `ERROR` or `INTERNAL` for what it holds. Never unwinds.
///
/// # Safety
/// `client` (and `cancel` when not 0) must be handles from uniffi's `clone` functions of
/// those types, `request` must be readable for `request_len` bytes and `out` writable for 5.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_request_blocking(
    client: u64,
    cancel: u64,
    request: *const u8,
    request_len: i32,
    out: *mut i64,
) -> i32 {
    // SAFETY: the caller's guarantees are `answer`'s.
    unsafe {
        answer(client, cancel, request, request_len, out, |c, r, x| {
            let (head, pieces) = c.request_blocking_pieces(r, x)?;
            let laid = crate::pieces::lay_out(head, &pieces);
            Ok(laid.map(|(head, pairs)| (head, pieces, pairs)))
        })
    }
}

/// `HopsafeClient.open_blocking` (`hand_over` != 0), as `hopsafe_kt_request_blocking`: the
/// answer holds a serialised `StreamedResponse` (its body a handle the answer hands over).
///
/// # Safety
/// As for `hopsafe_kt_request_blocking`.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_open_blocking(
    client: u64,
    cancel: u64,
    hand_over: i8,
    request: *const u8,
    request_len: i32,
    out: *mut i64,
) -> i32 {
    // SAFETY: the caller's guarantees are `answer`'s.
    unsafe {
        answer(client, cancel, request, request_len, out, |c, r, x| {
            let opened = c.open_blocking(r, x, hand_over != 0)?;
            Ok(Some((opened, Vec::new(), Vec::new())))
        })
    }
}

/// A value to serialise, the body pieces left out of it and their `[address, length]`
/// pairs; `None` for a body over `i32::MAX` bytes.
type Laid<T> = Option<(T, Vec<Bytes>, Vec<i64>)>;

/// An answer kept for Kotlin until `hopsafe_kt_free`.
struct Kept {
    /// The serialised value, error or message.
    buf: Vec<u8>,
    /// `[address, length]` of each body piece left out of `buf`.
    pairs: Vec<i64>,
    /// The pieces, alive until freed.
    _pieces: Vec<Bytes>,
}

impl Kept {
    /// Just `buf`.
    fn only(buf: Vec<u8>) -> Kept {
        Kept {
            buf,
            pairs: Vec::new(),
            _pieces: Vec::new(),
        }
    }
}

/// Lifts the handles and the request, runs `call`, writes its result to `out`.
///
/// # Safety
/// As for `hopsafe_kt_request_blocking`.
unsafe fn answer<T: Lower<UniFfiTag>>(
    client: u64,
    cancel: u64,
    request: *const u8,
    request_len: i32,
    out: *mut i64,
    call: impl FnOnce(
        &HopsafeClient,
        HttpRequest,
        Option<Arc<CancelHandle>>,
    ) -> Result<Laid<T>, HopsafeError>,
) -> i32 {
    let call = AssertUnwindSafe(|| {
        // SAFETY: the caller's guarantees are `lift`'s.
        let Lifted {
            client,
            cancel,
            request,
        } = unsafe { lift(client, cancel, request, request_len) }?;
        let mut buf = Vec::new();
        Ok::<_, String>(match call(&client, request, cancel) {
            Ok(Some((value, pieces, pairs))) => {
                T::write(value, &mut buf);
                let kept = Kept {
                    buf,
                    pairs,
                    _pieces: pieces,
                };
                (OK, kept)
            }
            Ok(None) => return Err(crate::pieces::TOO_LONG.to_owned()),
            Err(e) => {
                <HopsafeError as Lower<UniFfiTag>>::write(e, &mut buf);
                (ERROR, Kept::only(buf))
            }
        })
    });
    let (code, kept) = match catch_unwind(call) {
        Ok(Ok(answer)) => answer,
        Ok(Err(message)) => (INTERNAL, Kept::only(message.into_bytes())),
        Err(panic) => (INTERNAL, Kept::only(panic_message(&*panic).into_bytes())),
    };
    let kept = Box::new(kept);
    // SAFETY: the caller guarantees 5 writable slots.
    unsafe {
        out.write(kept.buf.as_ptr() as i64);
        out.add(1).write(kept.buf.len() as i64);
        out.add(2).write(kept.pairs.as_ptr() as i64);
        out.add(3).write((kept.pairs.len() / 2) as i64);
        out.add(4).write(Box::into_raw(kept) as i64);
    }
    code
}

/// Frees an answer of [`hopsafe_kt_request_blocking`] or [`hopsafe_kt_open_blocking`] (its
/// handle, `out[4]`).
///
/// # Safety
/// `kept` must be one answer's handle, freed once.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_free(kept: i64) {
    // SAFETY: the caller passes back what `answer` leaked. Dropping it cannot panic.
    drop(unsafe { Box::from_raw(kept as *mut Kept) });
}

/// Takes over the handle clones `client` and `cancel` (0 = none), so both are released on
/// every path, and reads the request uniffi serialised in `request[..request_len]`.
///
/// # Safety
/// `client` (and `cancel` when not 0) must be clones of handles of those types that the
/// caller hands over, and `request` readable for `request_len` bytes.
pub(crate) unsafe fn lift(
    client: u64,
    cancel: u64,
    request: *const u8,
    request_len: i32,
) -> Result<Lifted, String> {
    let client =
        <Arc<HopsafeClient> as Lift<UniFfiTag>>::try_lift(Handle::from_raw_unchecked(client));
    let cancel = (cancel != 0).then(|| {
        <Arc<CancelHandle> as Lift<UniFfiTag>>::try_lift(Handle::from_raw_unchecked(cancel))
    });
    let len = usize::try_from(request_len).map_err(|e| e.to_string())?;
    // SAFETY: the caller guarantees `request_len` readable bytes.
    let mut bytes = unsafe { std::slice::from_raw_parts(request, len) };
    let request = <HttpRequest as Lift<UniFfiTag>>::try_read(&mut bytes)
        .map_err(|e| format!("cannot read the request: {e}"))?;
    let client = client.map_err(|e| e.to_string())?;
    let cancel = cancel.transpose().map_err(|e| e.to_string())?;
    Ok(Lifted {
        client,
        cancel,
        request,
    })
}

/// What [`lift`] takes over and reads.
pub(crate) struct Lifted {
    pub(crate) client: Arc<HopsafeClient>,
    pub(crate) cancel: Option<Arc<CancelHandle>>,
    pub(crate) request: HttpRequest,
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    format!("hopsafe panicked: {text}")
}

#[cfg(test)]
#[path = "direct_tests.rs"]
pub(crate) mod direct_tests;
