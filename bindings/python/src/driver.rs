//! Where a call's network work runs. A blocking `Client` drives its own runtime on the
//! calling thread (`hopsafe::runtime::CallerDriven`): no hand-off to a runtime thread and
//! back on each call, which profiling showed to be the largest cost of a small request. An
//! `AsyncClient` runs on the core's shared runtime, which makes progress without the caller.

use std::future::Future;
use std::sync::Arc;

/// The runtime of one native client, shared with the bodies it returns.
#[derive(Clone)]
pub(crate) enum Driver {
    /// The core's shared runtime.
    Shared,
    /// The client's own runtime, driven by whichever thread blocks on it. Every blocking
    /// call of the client goes through it: its connections make progress only then.
    Caller(Arc<hopsafe::runtime::CallerDriven>),
}

impl Driver {
    /// Runs `fut` to completion and returns its output, blocking the calling thread (which
    /// must hold no GIL and be outside any async context).
    pub(crate) fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Driver::Shared => hopsafe::runtime::block_on(fut),
            Driver::Caller(rt) => rt.block_on(fut),
        }
    }

    /// The runtime that tasks for this client are spawned on.
    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        match self {
            Driver::Shared => hopsafe::runtime::shared().handle().clone(),
            Driver::Caller(rt) => rt.handle().clone(),
        }
    }

    /// Lets a caller-driven runtime act on what was just dropped (a response closed before
    /// its end: its connection is closed now, not at the client's next call). Brief: it
    /// never waits for the network. Skipped inside an async context (a hook's thread).
    pub(crate) fn settle(&self) {
        if let Driver::Caller(rt) = self {
            rt.settle();
        }
    }

    /// Whether calls that return at once and wake the caller later (`AsyncClient`) can run
    /// here: not on a caller-driven runtime, where nothing would drive them.
    pub(crate) fn runs_alone(&self) -> bool {
        matches!(self, Driver::Shared)
    }
}
