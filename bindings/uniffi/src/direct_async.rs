//! Kotlin's suspend `send` without uniffi's future protocol: one direct-mapped call starts the
//! request on the shared runtime and returns at once; when it ends, a runtime thread calls one
//! process-wide JNA callback with the answer (`DirectAsync.kt`).
//!
//! uniffi's async call costs several JNA calls per request (start, poll, the continuation
//! callback, poll again, complete, free), and the request, the result and each call status
//! cross as JNA `Structure`s. Here the request comes in as a `byte[]` (uniffi's own
//! serialisation, as in `direct.rs`), the answer goes out as the address and length of a Rust
//! buffer that Kotlin reads in place during the callback and Rust frees after it: one call
//! down, one up. A large response body is not in that buffer: it comes as the addresses and
//! lengths of the pieces it arrived in (`pieces.rs`), which Kotlin copies into its array.
//! Exactly one callback per started call: with the result, or with `Cancelled` when the task
//! is aborted (`hopsafe_kt_abort`) before it ends. Swift does not call these.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::task::AbortHandle;
use uniffi::Lower;

use crate::direct::{lift, panic_message};
use crate::error::HopsafeError;
use crate::types::HttpResponse;
use crate::UniFfiTag;

/// The answer holds an `HttpResponse`.
const OK: i32 = 0;
/// The answer holds a `HopsafeError`.
const ERROR: i32 = 1;
/// The binding itself failed (bad input or a panic): the answer is a UTF-8 message.
const INTERNAL: i32 = 2;

/// The completion callback: (token, code, address, length) of an answer, and (address, count)
/// of the `[address, length]` pairs of its body's pieces (count 0 unless `OK`), all alive until
/// it returns.
pub type Completion =
    extern "C" fn(token: i64, code: i32, ptr: i64, len: i64, pieces: i64, count: i64);

/// The callback Kotlin registered (once per process).
static COMPLETION: OnceLock<Completion> = OnceLock::new();

/// Registers the completion callback of every `hopsafe_kt_send`; later calls keep the first.
#[no_mangle]
pub extern "C" fn hopsafe_kt_async_init(completion: Completion) {
    let _ = COMPLETION.set(completion);
}

/// A started call, as Kotlin sees it: how to abort it. Alive until its callback has returned.
pub struct Started {
    abort: OnceLock<AbortHandle>,
}

/// `HopsafeClient.request` for the client handle `client` and the cancel handle `cancel`
/// (0 = none), both clones the call takes over, and the request serialised by uniffi in
/// `request[..request_len]`, answered through the registered callback with `token`. Returns
/// the call's address for `hopsafe_kt_abort`, valid until its callback has returned. Never
/// unwinds.
///
/// # Safety
/// `client` (and `cancel` when not 0) must be handles from uniffi's `clone` functions of
/// those types, `request` readable for `request_len` bytes, and the callback registered.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_send(
    client: u64,
    cancel: u64,
    request: *const u8,
    request_len: i32,
    token: i64,
) -> i64 {
    let started = Arc::new(Started {
        abort: OnceLock::new(),
    });
    let reply = Reply {
        token,
        _alive: started.clone(),
        sent: false,
    };
    let work = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller's guarantees.
        unsafe { work(client, cancel, request, request_len) }
    }));
    match work {
        Ok(Ok(work)) => {
            let task = hopsafe::runtime::shared().spawn(answered(work, reply));
            let _ = started.abort.set(task.abort_handle());
        }
        Ok(Err(message)) => reply.send(INTERNAL, message.as_bytes(), &[]),
        Err(panic) => reply.send(INTERNAL, panic_message(&*panic).as_bytes(), &[]),
    }
    Arc::as_ptr(&started) as i64
}

/// Aborts the call at `started` (from `hopsafe_kt_send`): its callback comes with `Cancelled`
/// unless the result was already on its way.
///
/// # Safety
/// `started` must be a call whose callback has not returned yet.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_abort(started: i64) {
    // SAFETY: the caller guarantees the call is still alive.
    let started = unsafe { &*(started as *const Started) };
    if let Some(abort) = started.abort.get() {
        abort.abort();
    }
}

/// The response and its body's pieces, or the error.
type Answer = Result<(HttpResponse, Vec<Bytes>), HopsafeError>;

/// The handles and the request lifted, and the call's work.
///
/// # Safety
/// As for `hopsafe_kt_send`.
unsafe fn work(
    client: u64,
    cancel: u64,
    request: *const u8,
    request_len: i32,
) -> Result<impl Future<Output = Answer> + Send + 'static, String> {
    // SAFETY: the caller's guarantees are `lift`'s.
    let lifted = unsafe { lift(client, cancel, request, request_len) }?;
    Ok(lifted
        .client
        .request_pieces_work(lifted.request, lifted.cancel))
}

/// Runs `work` and sends its result (or the message of its panic) with `reply`.
async fn answered(work: impl Future<Output = Answer>, reply: Reply) {
    let result = AssertUnwindSafe(work).catch_unwind().await;
    let mut buf = Vec::new();
    // The body's pieces stay alive until the callback has returned.
    let mut body = Vec::new();
    let mut pieces = Vec::new();
    let code = match result {
        Ok(Ok((head, chunks))) => match crate::pieces::lay_out(head, &chunks) {
            Some((head, pairs)) => {
                <HttpResponse as Lower<UniFfiTag>>::write(head, &mut buf);
                (body, pieces) = (chunks, pairs);
                OK
            }
            None => {
                buf = crate::pieces::TOO_LONG.as_bytes().to_vec();
                INTERNAL
            }
        },
        Ok(Err(e)) => {
            <HopsafeError as Lower<UniFfiTag>>::write(e, &mut buf);
            ERROR
        }
        Err(panic) => {
            buf = panic_message(&*panic).into_bytes();
            INTERNAL
        }
    };
    reply.send(code, &buf, &pieces);
    drop(body);
}

/// The one callback a call owes Kotlin; dropped unsent (the task aborted), it sends
/// `Cancelled`.
struct Reply {
    token: i64,
    /// Keeps the call alive until the callback has returned, for a racing `hopsafe_kt_abort`.
    _alive: Arc<Started>,
    sent: bool,
}

impl Reply {
    fn send(mut self, code: i32, buf: &[u8], pieces: &[i64]) {
        self.deliver(code, buf, pieces);
    }

    /// `pieces` holds `[address, length]` pairs.
    fn deliver(&mut self, code: i32, buf: &[u8], pieces: &[i64]) {
        self.sent = true;
        if let Some(completion) = COMPLETION.get() {
            let (ptr, len) = (buf.as_ptr() as i64, buf.len() as i64);
            let count = (pieces.len() / 2) as i64;
            completion(self.token, code, ptr, len, pieces.as_ptr() as i64, count);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.sent {
            let mut buf = Vec::new();
            <HopsafeError as Lower<UniFfiTag>>::write(HopsafeError::cancelled(), &mut buf);
            self.deliver(ERROR, &buf, &[]);
        }
    }
}

#[cfg(test)]
#[path = "direct_async_tests.rs"]
mod direct_async_tests;
