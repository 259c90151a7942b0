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
