//! Where a call runs. Async calls (Kotlin `suspend`, Swift `async`) run on the core's shared
//! runtime. The blocking `request_blocking` and `open_blocking` run on the calling thread
//! (`hopsafe::runtime::CallerDriven`), with a connection pool of their own: no hand-off to a
//! runtime thread and back per call, which profiling showed to dominate small blocking calls.
//! Each calling thread drives a runtime and pool of its own ([`PerThread`]): with one runtime
//! for all threads, one thread at a time did every thread's socket work and handed the
//! runtime on by futex (64 threads ran at half the rate of one).

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use hopsafe::runtime::Driver;

use crate::client::AbortOnDrop;
use crate::error::HopsafeError;

/// Runs `fut` for an async caller on `driver`: a task of the shared runtime, or a thread of
/// its blocking pool that drives a caller-driven runtime until `fut` is done. Dropping the
/// returned future aborts a task; a driving thread runs on until `fut` ends, so `fut` must
/// end promptly when its caller goes away (body reads race their cancel signal).
pub(crate) async fn run_async<T: Send + 'static>(
    driver: &Driver,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, HopsafeError> {
    let shared = hopsafe::runtime::shared();
    match driver {
        Driver::Shared => AbortOnDrop(shared.spawn(fut)).await,
        Driver::Caller(rt) => {
            let rt = rt.clone();
            AbortOnDrop(shared.spawn_blocking(move || rt.block_on(fut))).await
        }
    }
}

/// A client's blocking side: its own connections, on a runtime its callers drive.
#[derive(Debug)]
pub(crate) struct Blocking {
    pub(crate) client: hopsafe::Client,
    pub(crate) runner: Driver,
}

impl Blocking {
    /// The blocking side of `client` (same settings, cookie jar and counters).
    pub(crate) fn of(client: &hopsafe::Client) -> Result<Blocking, HopsafeError> {
        let runner = Driver::caller().map_err(|e| HopsafeError::Transport {
            detail: format!("could not start the blocking runtime: {e}"),
            url: None,
            history: Vec::new(),
            write_accepted: false,
        })?;
        Ok(Blocking {
            client: client.with_own_connections()?,
            runner,
        })
    }
}

/// Every thread's blocking side of one client.
type Sides = Mutex<Vec<Arc<Blocking>>>;

/// A client's blocking sides, one per calling thread: each thread drives its own runtime and
/// connections, so no thread waits for another to do its socket work. A thread's side ends
/// when the thread ends, every side when the client is dropped. A thread's idle connections
/// are driven only while it calls (one open connection per host it talked to, at most the
/// pool's idle limit).
#[derive(Debug, Default)]
pub(crate) struct PerThread {
    sides: Arc<Sides>,
}

/// The calling thread's hold on its side of one client.
struct Lease {
    sides: Weak<Sides>,
    side: Weak<Blocking>,
}

impl Drop for Lease {
    /// The thread ended (or found the client gone): its side leaves the client.
    fn drop(&mut self) {
        let Some(sides) = self.sides.upgrade() else {
            return;
        };
        let gone = self.side.as_ptr();
        let mut list = sides.lock().unwrap_or_else(PoisonError::into_inner);
        let side = list
            .iter()
            .position(|b| std::ptr::eq(Arc::as_ptr(b), gone))
            .map(|i| list.swap_remove(i));
        drop(list);
        // Its runtime and connections end here, outside the lock.
        drop(side);
    }
}

thread_local! {
    static LEASES: RefCell<Vec<Lease>> = const { RefCell::new(Vec::new()) };
}

impl PerThread {
    /// The calling thread's side of `client` (whose sides these are), made on its first call.
    pub(crate) fn side(&self, client: &hopsafe::Client) -> Result<Arc<Blocking>, HopsafeError> {
        let key = Arc::as_ptr(&self.sides);
        let mine = |leases: &RefCell<Vec<Lease>>| {
            let leases = leases.borrow();
            let lease = leases.iter().find(|l| std::ptr::eq(l.sides.as_ptr(), key));
            lease.and_then(|l| l.side.upgrade())
        };
        // `try_with` fails only in a thread-local destructor at thread exit.
        if let Ok(Some(side)) = LEASES.try_with(mine) {
            return Ok(side);
        }
        let side = Arc::new(Blocking::of(client)?);
        self.sides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(side.clone());
        let lease = Lease {
            sides: Arc::downgrade(&self.sides),
            side: Arc::downgrade(&side),
        };
        let _ = LEASES.try_with(|leases| {
            let stale = {
                let mut leases = leases.borrow_mut();
                // Leases of dropped clients, and this client's lease if its side was lost.
                let (keep, stale): (Vec<Lease>, Vec<Lease>) =
                    std::mem::take(&mut *leases).into_iter().partition(|l| {
                        l.sides.strong_count() > 0 && !std::ptr::eq(l.sides.as_ptr(), key)
                    });
                *leases = keep;
                leases.push(lease);
                stale
            };
            drop(stale);
        });
        Ok(side)
    }
}
