//! One shared multi-thread tokio runtime, for callers that do not run their own (the
//! language bindings).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The process-wide runtime (created on first use, two or more worker threads).
pub fn shared() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get().clamp(2, 8))
            .unwrap_or(2);
        Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("hopsafe-rt")
            .enable_all()
            .build()
            .expect("the operating system refused to start the hopsafe runtime threads")
    })
}

/// A runtime with one worker thread, for a binding whose calls all come from one event-loop
/// thread (Node's): each call crosses to the worker and back, and no second worker is woken to
/// look for work. Measured with `perf stat` on Node's sequential GETs: 3.0 context switches per
/// request here against 5.9 on [`shared`]. Work here must not block the worker, except inside
/// `tokio::task::block_in_place` (which hands the worker's other tasks to a new thread).
pub fn single_worker() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hopsafe-io")
            .enable_all()
            .build()
            .expect("the operating system refused to start the hopsafe runtime thread")
    })
}

/// Runs `fut` on the shared runtime and blocks the calling thread until it is done.
///
/// Must not be called from inside an async context. A panic inside `fut` is resumed on
/// the calling thread (bindings catch it at their boundary).
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = shared().spawn(fut);
    match shared().block_on(handle) {
        Ok(out) => out,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => unreachable!("the task is never aborted"),
    }
}

/// A runtime driven by the threads that block on it, for a blocking caller (a language
/// binding's synchronous client). The calling thread does the call's socket work itself,
/// instead of handing the call to a worker thread and being woken when it is done: no thread
/// hand-off on the way in or out.
///
/// Connections a client opens while driven here live here, and make progress only while some
/// thread blocks on it: every call of that client (requests and body reads) must go through
/// the same `CallerDriven`. Several threads may block on it at once; one drives the I/O and the
/// timers for all of them at a time. Dropping it ends its connections without waiting.
pub struct CallerDriven(Option<Runtime>);

impl CallerDriven {
    /// A new runtime (I/O and timers enabled; no thread of its own until a blocking task,
    /// such as a DNS lookup, needs one).
    pub fn new() -> std::io::Result<CallerDriven> {
        let rt = Builder::new_current_thread()
            .thread_name("hopsafe-blocking")
            .enable_all()
            .build()?;
        Ok(CallerDriven(Some(rt)))
    }

    /// Runs `fut` to completion on the calling thread, driving this runtime meanwhile.
    ///
    /// Must not be called from inside an async context.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime().block_on(fut)
    }

    /// Lets the tasks woken by something just dropped here run (a response dropped before
    /// its end: its connection is then closed now, not at the next call). Brief: it never
    /// waits for the network. Does nothing inside an async context, where it cannot block.
    pub fn settle(&self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        self.block_on(async {
            for _ in 0..2 {
                tokio::task::yield_now().await;
            }
        });
    }

    /// The handle that spawns tasks here (they run while some thread blocks on it).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime().handle()
    }

    fn runtime(&self) -> &Runtime {
        self.0.as_ref().expect("only taken on drop")
    }
}

impl Drop for CallerDriven {
    fn drop(&mut self) {
        // Never wait here for a blocking task (a DNS lookup) to end.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for CallerDriven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerDriven")
    }
}

/// Where a binding runs one client's calls: the shared runtime, or a runtime its blocking
/// callers drive. A response body goes with its client's driver (its connection lives there).
#[derive(Clone, Debug)]
pub enum Driver {
    /// [`shared`], which makes progress on its own threads.
    Shared,
    /// A [`CallerDriven`] runtime: its connections make progress only while a caller blocks
    /// on it, so every call of the client must go through it.
    Caller(std::sync::Arc<CallerDriven>),
}

impl Driver {
    /// A new caller-driven runtime.
    pub fn caller() -> std::io::Result<Driver> {
        Ok(Driver::Caller(std::sync::Arc::new(CallerDriven::new()?)))
    }

    /// Runs `fut` to completion, blocking the calling thread (outside any async context).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Driver::Shared => block_on(fut),
            Driver::Caller(rt) => rt.block_on(fut),
        }
    }

    /// The handle that spawns tasks on this driver's runtime.
    pub fn handle(&self) -> tokio::runtime::Handle {
        match self {
            Driver::Shared => shared().handle().clone(),
            Driver::Caller(rt) => rt.handle().clone(),
        }
    }

    /// [`CallerDriven::settle`] for a caller-driven runtime; nothing for the shared one,
    /// which acts on a drop by itself.
    pub fn settle(&self) {
        if let Driver::Caller(rt) = self {
            rt.settle();
        }
    }

    /// Whether work spawned here runs without a caller driving it (the shared runtime).
    pub fn runs_alone(&self) -> bool {
        matches!(self, Driver::Shared)
    }
}
