//! Interpreter exit: no runtime thread calls into Python once it has begun.
//!
//! An `AsyncClient` call on a loop that cannot watch a socket (`wake.rs`) wakes it from a
//! thread of the runtime's blocking pool.
//! If that happens while CPython finalizes, the thread can take the GIL after finalization
//! started (CPython then ends it, or aborts on releasing it: "PyGILState_Release: thread state
//! ... must be current"). So an `atexit` hook (run before finalization, GIL held) stops new
//! wake-ups and waits, with the GIL released, for those already under way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use pyo3::Python;

static EXITING: AtomicBool = AtomicBool::new(false);
static WAKING: AtomicUsize = AtomicUsize::new(0);

/// A wake-up under way; `None` once the interpreter is exiting.
pub(crate) struct Waking(());

impl Waking {
    pub(crate) fn start() -> Option<Waking> {
        // Counted before the check, so `stop` either sees this wake-up or it sees the flag.
        WAKING.fetch_add(1, SeqCst);
        if EXITING.load(SeqCst) {
            WAKING.fetch_sub(1, SeqCst);
            return None;
        }
        Some(Waking(()))
    }
}

impl Drop for Waking {
    fn drop(&mut self) {
        WAKING.fetch_sub(1, SeqCst);
    }
}

/// Stops new wake-ups and lets those under way finish (at most a second).
pub(crate) fn stop(py: Python<'_>) {
    EXITING.store(true, SeqCst);
    py.detach(|| {
        let until = Instant::now() + Duration::from_secs(1);
        while WAKING.load(SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
