//! How a finished call reaches the JS thread: one threadsafe function per JS thread, shared
//! by every call, instead of napi's deferred, which creates (and closes) a threadsafe
//! function, an async resource and an env cleanup hook per promise.
//!
//! A call's promise is made on the JS thread ([`Call::new`]). The runtime thread that ends
//! it queues the result ([`Call::finish`]) and wakes the JS thread only when the queue was
//! empty: calls that end before the JS thread drains share one wake-up, and the drain settles
//! them all in one callback (one microtask checkpoint). The threadsafe function keeps the
//! event loop alive only while a call is pending: idle, the process can exit.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{check_status, sys, Env, Result};

use crate::lock;

/// Makes a call's JS value on the JS thread.
type Settle = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

/// A pending promise of the JS thread whose queue holds it.
struct Deferred(sys::napi_deferred);

// Only dereferenced by napi on the JS thread (in `drain`); runtime threads only move it.
unsafe impl Send for Deferred {}

/// The queue a JS thread's calls end into.
struct Queue {
    tsfn: sys::napi_threadsafe_function,
    /// Results not yet delivered; `None` once the environment is torn down.
    ended: Mutex<Option<Vec<(Deferred, Settle)>>>,
    /// Whether the threadsafe function may be called: false once the environment is torn
    /// down (Node finalizes it then). Held (shared) across a call, so the wake-up is not made
    /// under `ended`'s lock, which the woken JS thread takes at once.
    alive: RwLock<bool>,
    /// Calls made and not yet settled (changed on the JS thread only).
    pending: AtomicUsize,
}

// The threadsafe function may be called from any thread (its purpose); `ended` is locked.
unsafe impl Send for Queue {}
unsafe impl Sync for Queue {}

thread_local! {
    /// This JS thread's queue (a Node environment lives on one thread).
    static QUEUE: RefCell<Option<Arc<Queue>>> = const { RefCell::new(None) };
}

impl Queue {
    /// This thread's queue, made on first use.
    fn current(env: &Env) -> Result<Arc<Queue>> {
        if let Some(q) = QUEUE.with(|q| q.borrow().clone()) {
            return Ok(q);
        }
        let raw = env.raw();
        let mut name = ptr::null_mut();
        check_status!(unsafe {
            sys::napi_create_string_utf8(raw, c"hopsafe".as_ptr(), 7, &mut name)
        })?;
        let mut tsfn = ptr::null_mut();
        // No JS function: `drain` settles the promises itself. The queue never holds more than
        // one item per wake-up (see `finish`), so it is unbounded.
        check_status!(unsafe {
            sys::napi_create_threadsafe_function(
                raw,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                ptr::null_mut(),
                None,
                ptr::null_mut(),
                Some(drain),
                &mut tsfn,
            )
        })?;
        // Idle until a call is made.
        check_status!(unsafe { sys::napi_unref_threadsafe_function(raw, tsfn) })?;
        let queue = Arc::new(Queue {
            tsfn,
            ended: Mutex::new(Some(Vec::new())),
            alive: RwLock::new(true),
            pending: AtomicUsize::new(0),
        });
        // Registered after the threadsafe function's own teardown hook, so it runs first
        // (hooks run in reverse order): no runtime thread calls the function once it is gone.
        let hook = Arc::into_raw(queue.clone()) as *mut c_void;
        check_status!(unsafe { sys::napi_add_env_cleanup_hook(raw, Some(teardown), hook) })?;
        QUEUE.with(|q| *q.borrow_mut() = Some(queue.clone()));
        Ok(queue)
    }

    /// One more pending call; the first keeps the event loop alive. JS thread only.
    fn started(&self, env: sys::napi_env) {
        // Failures here only mean Node is exiting.
        if self.pending.fetch_add(1, Ordering::Relaxed) == 0 {
            unsafe { sys::napi_ref_threadsafe_function(env, self.tsfn) };
        }
    }

    /// `n` fewer pending calls; with none left, the event loop may exit. JS thread only.
    fn settled(&self, env: sys::napi_env, n: usize) {
        if self.pending.fetch_sub(n, Ordering::Relaxed) == n {
            unsafe { sys::napi_unref_threadsafe_function(env, self.tsfn) };
        }
    }
}

/// The environment is being torn down: results still to come are dropped.
unsafe extern "C" fn teardown(arg: *mut c_void) {
    let queue = unsafe { Arc::from_raw(arg as *const Queue) };
    *queue.alive.write().unwrap_or_else(|p| p.into_inner()) = false;
    // The promises are gone with the environment (their `napi_deferred`s with them).
    drop(lock(&queue.ended).take());
    let _ = QUEUE.try_with(|q| q.borrow_mut().take());
}

/// Settles every call that ended since the last drain. Runs on the JS thread.
unsafe extern "C" fn drain(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    _context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() {
        return;
    }
    let Some(queue) = QUEUE.with(|q| q.borrow().clone()) else {
        return;
    };
    let ended = match lock(&queue.ended).as_mut() {
        Some(ended) => std::mem::take(ended),
        None => return,
    };
    if ended.is_empty() {
        return;
    }
    let n = ended.len();
    for (deferred, settle) in ended {
        unsafe { settle_one(env, deferred.0, settle) };
    }
    queue.settled(env, n);
}

/// Resolves one promise with what `settle` makes, or rejects it with the error.
unsafe fn settle_one(env: sys::napi_env, deferred: sys::napi_deferred, settle: Settle) {
    let mut scope = ptr::null_mut();
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    // A panic must not unwind into Node: it rejects the promise instead.
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| settle(env)))
        .unwrap_or_else(|_| Err(napi::Error::from_reason("hopsafe: internal panic")));
    match made {
        Ok(value) => unsafe { sys::napi_resolve_deferred(env, deferred, value) },
        Err(e) => unsafe {
            let error = napi::JsError::from(e).into_value(env);
            sys::napi_reject_deferred(env, deferred, error)
        },
    };
    unsafe { sys::napi_close_handle_scope(env, scope) };
}

/// One call's promise: settled once, from any thread, with [`Call::finish`]; dropped
/// unfinished, it rejects (no promise is ever left pending).
pub(crate) struct Call {
    queue: Arc<Queue>,
    deferred: Option<Deferred>,
}

impl Call {
    /// A pending promise and the call that settles it (on the JS thread).
    pub(crate) fn new(env: &Env) -> Result<(Call, Object<'_>)> {
        let queue = Queue::current(env)?;
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
        queue.started(env.raw());
        let call = Call {
            queue,
            deferred: Some(Deferred(deferred)),
        };
        Ok((call, Object::from_raw(env.raw(), promise)))
    }

    /// Resolves the promise with what `make` returns, made on the JS thread.
    pub(crate) fn finish<T: ToNapiValue>(
        mut self,
        make: impl FnOnce(Env) -> Result<T> + Send + 'static,
    ) {
        self.send(Box::new(move |env| unsafe {
            T::to_napi_value(env, make(Env::from_raw(env))?)
        }));
    }

    fn send(&mut self, settle: Settle) {
        let Some(deferred) = self.deferred.take() else {
            return;
        };
        {
            let mut ended = lock(&self.queue.ended);
            let Some(ended) = ended.as_mut() else {
                // The environment is gone: nobody awaits the promise.
                return;
            };
            ended.push((deferred, settle));
            // Only the first result since the last drain wakes the JS thread: the drain takes
            // all.
            if ended.len() > 1 {
                return;
            }
        }
        let alive = self.queue.alive.read().unwrap_or_else(|p| p.into_inner());
        if *alive {
            unsafe {
                sys::napi_call_threadsafe_function(
                    self.queue.tsfn,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.deferred.is_some() {
            self.send(Box::new(|_| {
                Err(napi::Error::from_reason(
                    "hopsafe: the call ended without a result",
                ))
            }));
        }
    }
}
