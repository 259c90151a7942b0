//! Where a call runs. Async calls (Kotlin `suspend`, Swift `async`) run on the core's shared
//! runtime. The blocking `request_blocking` and `open_blocking` run on the calling thread
//! (`hopsafe::runtime::CallerDriven`), with a connection pool of their own: no hand-off to a
//! runtime thread and back per call, which profiling showed to dominate small blocking calls.

use std::future::Future;
use std::sync::Arc;

use crate::client::AbortOnDrop;
use crate::error::HopsafeError;

/// The runtime a response body's connection lives on.
#[derive(Debug, Clone)]
pub(crate) enum Runner {
    /// The core's shared runtime, which makes progress on its own.
    Shared,
    /// A caller-driven runtime: its connections make progress only while a thread blocks on it.
    Caller(Arc<hopsafe::runtime::CallerDriven>),
}

impl Runner {
    /// Runs `fut` to completion, blocking the calling thread (outside any async context).
    pub(crate) fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Runner::Shared => hopsafe::runtime::block_on(fut),
            Runner::Caller(rt) => rt.block_on(fut),
        }
    }

    /// Runs `fut` for an async caller: a task of the shared runtime, or a thread of its
    /// blocking pool that drives a caller-driven runtime until `fut` is done. Dropping the
    /// returned future aborts a task; a driving thread runs on until `fut` ends, so `fut`
    /// must end promptly when its caller goes away (body reads race their cancel signal).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, HopsafeError> {
        let shared = hopsafe::runtime::shared();
        match self {
            Runner::Shared => AbortOnDrop(shared.spawn(fut)).await,
            Runner::Caller(rt) => {
                let rt = rt.clone();
                AbortOnDrop(shared.spawn_blocking(move || rt.block_on(fut))).await
            }
        }
    }

    /// Lets a caller-driven runtime act on a body just dropped, so its connection is closed
    /// now rather than at the next blocking call. Brief: never waits for the network. Skipped
    /// inside an async context.
    pub(crate) fn settle(&self) {
        if let Runner::Caller(rt) = self {
            rt.settle();
        }
    }
}

/// A client's blocking side: its own connections, on a runtime its callers drive.
#[derive(Debug)]
pub(crate) struct Blocking {
    pub(crate) client: hopsafe::Client,
    pub(crate) runner: Runner,
}

impl Blocking {
    /// The blocking side of `client` (same settings, cookie jar and counters).
    pub(crate) fn of(client: &hopsafe::Client) -> Result<Blocking, HopsafeError> {
        let rt = hopsafe::runtime::CallerDriven::new().map_err(|e| HopsafeError::Transport {
            detail: format!("could not start the blocking runtime: {e}"),
            url: None,
            history: Vec::new(),
            write_accepted: false,
        })?;
        Ok(Blocking {
            client: client.with_own_connections()?,
            runner: Runner::Caller(Arc::new(rt)),
        })
    }
}
