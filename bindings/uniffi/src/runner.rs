//! Where a call runs. Async calls (Kotlin `suspend`, Swift `async`) run on the core's shared
//! runtime. The blocking `request_blocking` and `open_blocking` run on the calling thread
//! (`hopsafe::runtime::CallerDriven`), with a connection pool of their own: no hand-off to a
//! runtime thread and back per call, which profiling showed to dominate small blocking calls.

use std::future::Future;

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
