//! How an `AsyncClient` call tells its event loop it is done.
//!
//! The fast way ([`NativeLoopWaker`], Unix): the loop watches the read end of a socket pair
//! (`loop.add_reader`), and a runtime thread that finishes a call records the call's token
//! and writes one byte to the other end. No Python code runs on that thread (no GIL taken, no
//! hop to a blocking-pool thread first), and calls that finish before the loop reads share
//! one wake-up. The other way (event loops without `add_reader`, such as Windows' Proactor):
//! a Python callable run from a blocking-pool thread, which calls `loop.call_soon_threadsafe`.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::exit;

/// What to do when a call ends: from [`Wake::extract`] on the `wake` argument of a `start`.
pub(crate) enum Wake {
    /// Record the token and wake the loop through its socket.
    Loop(Arc<Shared>, u64),
    /// Call this Python callable (from a thread of the runtime's blocking pool).
    Call(Py<PyAny>),
}

impl Wake {
    /// `(NativeLoopWaker, token)` or a callable; anything else is a `TypeError`, raised
    /// before the call starts (it could never be woken).
    pub(crate) fn extract(wake: Py<PyAny>, py: Python<'_>) -> PyResult<Wake> {
        if let Ok((waker, token)) = wake.extract::<(PyRef<'_, NativeLoopWaker>, u64)>(py) {
            return Ok(Wake::Loop(waker.shared.clone(), token));
        }
        if wake.bind(py).is_callable() {
            return Ok(Wake::Call(wake));
        }
        let kind = wake.bind(py).get_type().name()?;
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "wake must be a (NativeLoopWaker, int) pair or a callable, not {kind}"
        )))
    }

    /// Wakes the loop. Called on a runtime thread, once the call's result is in its slot.
    pub(crate) fn fire(self) {
        match self {
            Wake::Loop(shared, token) => shared.done(token),
            Wake::Call(wake) => {
                // Calling Python needs its thread state: taken on the blocking pool, so a
                // runtime worker never waits for it. Skipped once the interpreter is exiting.
                // The JoinHandle is dropped: the call runs detached.
                drop(tokio::task::spawn_blocking(move || {
                    let _waking = exit::Waking::start()?;
                    Python::try_attach(|py| {
                        // A closed loop raises here; nobody awaits the read any more.
                        let _ = wake.call0(py);
                    });
                    Some(())
                }));
            }
        }
    }
}

/// The state a waker shares with the calls it wakes for.
pub(crate) struct Shared {
    /// Tokens of the calls that ended since the loop last drained.
    ended: Mutex<Vec<u64>>,
    #[cfg(unix)]
    tx: std::os::unix::net::UnixStream,
    #[cfg(unix)]
    rx: std::os::unix::net::UnixStream,
}

impl Shared {
    fn done(&self, token: u64) {
        let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        let first = ended.is_empty();
        ended.push(token);
        drop(ended);
        // Only the first token since the last drain needs a byte: the loop drains all of them.
        // A full socket (the loop stopped reading) already holds a wake-up: nothing is lost.
        #[cfg(unix)]
        if first {
            use std::io::Write;
            let _ = (&self.tx).write(&[1]);
        }
        #[cfg(not(unix))]
        let _ = first;
    }
}

/// Wakes one event loop for the `AsyncClient` calls started on it (see the module doc).
#[pyclass(frozen, module = "hopsafe._native")]
pub(crate) struct NativeLoopWaker {
    shared: Arc<Shared>,
}

#[pymethods]
impl NativeLoopWaker {
    /// A new waker; raises `OSError` where it is not supported (not Unix) or the socket pair
    /// cannot be made: then wake with a callable.
    #[new]
    fn new() -> PyResult<Self> {
        #[cfg(unix)]
        {
            let (tx, rx) = std::os::unix::net::UnixStream::pair()?;
            tx.set_nonblocking(true)?;
            rx.set_nonblocking(true)?;
            Ok(NativeLoopWaker {
                shared: Arc::new(Shared {
                    ended: Mutex::new(Vec::new()),
                    tx,
                    rx,
                }),
            })
        }
        #[cfg(not(unix))]
        Err(pyo3::exceptions::PyOSError::new_err(
            "NativeLoopWaker needs Unix sockets",
        ))
    }

    /// The descriptor the loop watches (`loop.add_reader(waker.fileno(), ...)`); it stays open
    /// as long as the waker or a call it wakes for lives.
    fn fileno(&self) -> i32 {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            self.shared.rx.as_raw_fd()
        }
        #[cfg(not(unix))]
        -1
    }

    /// The tokens of the calls that ended since the last drain (reads the pending bytes
    /// first, so a call that ends meanwhile writes a new one).
    fn drain(&self) -> Vec<u64> {
        #[cfg(unix)]
        {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!((&self.shared.rx).read(&mut buf), Ok(n) if n > 0) {}
        }
        std::mem::take(&mut *self.shared.ended.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
