//! `hopsafe._native`: the thin layer between Python and the hopsafe core.
//!
//! A request crosses as native values (method, URL, header pairs, the body bytes) plus a JSON
//! document of its other settings when any is set; a response comes back as a `NativeMeta`
//! (fields converted when read) and the body, an error as a JSON document. This file only translates; the Python
//! API (`python/hopsafe/__init__.py`) builds the arguments and raises the exception classes. Network work runs with
//! the GIL released: a blocking `Client`'s on the calling thread, an `AsyncClient`'s on the
//! core's shared tokio runtime (`hopsafe::runtime::Driver`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use hopsafe_bridge as bridge;

mod body;
mod exit;
mod hook;
mod logs;
mod meta;
mod wake;
use body::{Filled, NativeBody, NativeChunkHandle};
use hopsafe::runtime::Driver;
use hopsafe_bridge::{build_request, Outcome};
use wake::{NativeLoopWaker, Wake};

/// A configured hopsafe client (connection pool included). Thread-safe.
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeClient {
    client: hopsafe::Client,
    driver: Driver,
}

#[pymethods]
impl NativeClient {
    /// Builds a client from a JSON configuration; returns (client, None) or (None, error JSON).
    /// A `blocking` client (`Client`) does its network work on the thread that calls it and
    /// offers only the blocking calls; otherwise (`AsyncClient`) only the `start` calls.
    #[staticmethod]
    #[pyo3(signature = (config, redirect_hook=None, blocking=false))]
    fn create(
        config: &str,
        redirect_hook: Option<Py<PyAny>>,
        blocking: bool,
    ) -> (Option<NativeClient>, Option<String>) {
        // A blocking client does its network work on the calling thread (no hand-off to a
        // runtime thread and back per call); an async one on the core's shared runtime.
        let driver = if blocking {
            match Driver::caller() {
                Ok(driver) => driver,
                Err(_) => return (None, Some(bridge::internal_json())),
            }
        } else {
            Driver::Shared
        };
        let built = bridge::build_client_with(config, "python", |b| match redirect_hook {
            Some(hook) => b.redirect_hook(hook::to_core(hook)),
            None => b,
        });
        match built {
            Ok(client) => (Some(NativeClient { client, driver }), None),
            Err(e) => (None, Some(bridge::error_json(&e))),
        }
    }

    /// The client's counters as JSON (the core's `MetricsSnapshot`, snake_case keys).
    fn metrics(&self) -> String {
        bridge::metrics_json(&self.client)
    }

    /// Sends a request and waits, with the GIL released. Returns (ok, meta, body): `meta` is
    /// the response's `NativeMeta` (or, when `ok` is false, the error JSON); the body is `bytes`, or
    /// with `stream` a `NativeBody` to read (the call returns at headers). `options` is the
    /// JSON of the other settings (`timeout`, `retry`...), `None` when none is set.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, url, headers, options, body, stream=false))]
    fn send<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        options: Option<&str>,
        body: Option<Vec<u8>>,
        stream: bool,
    ) -> PyResult<(bool, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let client = self.client.clone();
        let body = body.map(hopsafe::Body::from);
        let req = bridge::build_request_parts(&client, method, url, &headers, options, body);
        let driver = &self.driver;
        if stream {
            let outcome =
                py.detach(|| driver.block_on(bridge::run(client, req, bridge::Read::Stream)));
            return into_py(outcome, py, driver);
        }
        let whole = py.detach(|| driver.block_on(bridge::run_sized(client, req)));
        match whole {
            bridge::Whole::Done(outcome) => into_py(outcome, py, driver),
            bridge::Whole::Sized { meta, body } => {
                let meta = meta::to_py(py, meta)?;
                Ok(match body::read_sized(py, body, driver)? {
                    Ok(bytes) => (true, meta, bytes),
                    Err(doc) => err_triple(py, &doc),
                })
            }
        }
    }

    /// Sends a request whose body is produced by iterating `chunks` (bytes objects) on this
    /// thread while the request runs: each chunk is handed to the core with the GIL
    /// released. Iteration stops early when the core no longer reads the body. An exception
    /// raised by the iterator aborts the send and is re-raised here.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, url, headers, options, chunks, stream=false))]
    fn send_stream<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        options: Option<&str>,
        chunks: &Bound<'py, PyAny>,
        stream: bool,
    ) -> PyResult<(bool, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let (tx, body) = bridge::body_channel(4);
        let client = self.client.clone();
        let req = bridge::build_request_parts(&client, method, url, &headers, options, Some(body));
        let driver = &self.driver;
        let (abort, outcome) =
            bridge::spawn_request(&driver.handle(), client, req, read_mode(stream));
        let mut failure = None;
        for item in chunks.try_iter()? {
            match item.and_then(|c| c.extract::<Vec<u8>>()) {
                Ok(chunk) => {
                    // Blocking on the driver also runs the request while it waits.
                    let tx = tx.clone();
                    if !py.detach(|| driver.block_on(async move { tx.send(chunk).await })) {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            let reason = e.to_string();
            py.detach(|| driver.block_on(tx.fail_async(reason)));
            abort.abort();
            // A caller-driven runtime ends the aborted upload now, not at the next call.
            py.detach(|| driver.settle());
            return Err(e);
        }
        drop(tx);
        let outcome = py.detach(|| driver.block_on(outcome));
        into_py(outcome, py, driver)
    }

    /// Starts a request on the runtime and returns its handle. When it ends (or is aborted),
    /// the caller's loop is woken once: `wake` is `(NativeLoopWaker, token)`, or a callable
    /// called from a thread of the runtime's blocking pool (what it raises is ignored).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, url, headers, options, body, wake, stream=false))]
    fn start(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        options: Option<&str>,
        body: Option<Vec<u8>>,
        wake: Py<PyAny>,
        stream: bool,
    ) -> PyResult<NativeHandle> {
        let wake = Wake::extract(wake, py)?;
        let body = body.map(hopsafe::Body::from);
        let req = bridge::build_request_parts(&self.client, method, url, &headers, options, body);
        Ok(self.start_with(req, wake, stream))
    }

    /// Like `start`, with a body fed through the returned writer while the request runs.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, url, headers, options, wake, stream=false))]
    fn start_stream(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        options: Option<&str>,
        wake: Py<PyAny>,
        stream: bool,
    ) -> PyResult<(NativeHandle, NativeBodyWriter)> {
        let wake = Wake::extract(wake, py)?;
        let (tx, body) = bridge::body_channel(4);
        let req =
            bridge::build_request_parts(&self.client, method, url, &headers, options, Some(body));
        let handle = self.start_with(req, wake, stream);
        let writer = NativeBodyWriter {
            tx: std::sync::Mutex::new(Some(tx)),
        };
        Ok((handle, writer))
    }
}

impl NativeClient {
    fn start_with(
        &self,
        req: Result<hopsafe::Request, hopsafe::Error>,
        wake: Wake,
        stream: bool,
    ) -> NativeHandle {
        let req = match self.driver.runs_alone() {
            true => req,
            false => Err(hopsafe::Error::InvalidConfig {
                reason: "a blocking client cannot start a request that runs on its own".into(),
            }),
        };
        let client = self.client.clone();
        let work = async move {
            if stream {
                return Done::Outcome(bridge::run(client, req, bridge::Read::Stream).await);
            }
            match bridge::run_sized(client, req).await {
                bridge::Whole::Done(outcome) => Done::Outcome(outcome),
                bridge::Whole::Sized { meta, body } => match body::read_sized_async(body).await {
                    Ok(filled) => Done::Filled { meta, filled },
                    Err(outcome) => Done::Outcome(outcome),
                },
            }
        };
        let (abort, done) = bridge::spawn_task(hopsafe::runtime::shared().handle(), work, |doc| {
            Done::Outcome(Outcome::Err(doc))
        });
        NativeHandle {
            abort,
            slot: fill_then_wake(done, wake),
        }
    }
}

/// How an `AsyncClient` request ended.
enum Done {
    Outcome(Outcome),
    /// A large body of known length, read straight into a `bytes` (`body::read_sized`).
    Filled {
        meta: bridge::Meta,
        filled: Filled,
    },
}

fn read_mode(stream: bool) -> bridge::Read {
    if stream {
        bridge::Read::Stream
    } else {
        bridge::Read::Whole
    }
}

pub(crate) type Slot<T> = std::sync::Arc<std::sync::Mutex<Option<T>>>;

/// Runs `fut` on the core runtime, puts its output in the returned slot, then wakes the
/// caller's event loop once (`wake.rs`).
pub(crate) fn fill_then_wake<T: Send + 'static>(
    fut: impl std::future::Future<Output = T> + Send + 'static,
    wake: Wake,
) -> Slot<T> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let filled = slot.clone();
    hopsafe::runtime::shared().spawn(async move {
        let out = fut.await;
        *filled.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
        wake.fire();
    });
    slot
}

/// The writable side of a streamed request body (`AsyncClient` pumps an async iterable into
/// it from a worker thread).
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeBodyWriter {
    tx: std::sync::Mutex<Option<bridge::BodySender>>,
}

#[pymethods]
impl NativeBodyWriter {
    /// Blocks (GIL released) until the core takes `chunk`; `False` once it no longer reads
    /// the body.
    fn send_blocking(&self, py: Python<'_>, chunk: Vec<u8>) -> bool {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match tx {
            Some(tx) => py.detach(move || tx.send_blocking(chunk)),
            None => false,
        }
    }

    /// Ends the body.
    fn end(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Ends the body with an error: the upload is aborted and the request fails with
    /// `BodyStream`. Never blocks.
    fn fail(&self, reason: String) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            tx.fail_in_background(hopsafe::runtime::shared().handle(), reason);
        }
    }
}

/// A request in flight: `cancel()` aborts it (the connection is dropped); `result()` takes
/// the outcome once `wake` was called.
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeHandle {
    abort: tokio::task::AbortHandle,
    slot: Slot<Done>,
}

#[pymethods]
impl NativeHandle {
    /// Aborts the request.
    fn cancel(&self) {
        self.abort.abort();
    }

    /// The outcome `(ok, meta, body)`, or `None` while the request runs.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Option<Triple<'py>>> {
        let Some(done) = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(None);
        };
        match done {
            Done::Outcome(outcome) => into_py(outcome, py, &Driver::Shared).map(Some),
            Done::Filled { meta, filled } => {
                Ok(Some((true, meta::to_py(py, meta)?, filled.into_bytes(py))))
            }
        }
    }
}

type Triple<'py> = (bool, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// An outcome as the `(ok, meta, body)` tuple Python receives: `meta` is a `NativeMeta` (the error
/// JSON when not ok); `body` is `bytes` (copied once from the core's buffer) or a `NativeBody`
/// still to be read, on `driver`.
fn into_py<'py>(outcome: Outcome, py: Python<'py>, driver: &Driver) -> PyResult<Triple<'py>> {
    Ok(match outcome {
        Outcome::Ok { meta, body } => (
            true,
            meta::to_py(py, meta)?,
            PyBytes::new(py, &body).into_any(),
        ),
        Outcome::Open { meta, body } => {
            let body = NativeBody {
                reader: body,
                driver: driver.clone(),
            };
            let body = Bound::new(py, body)?;
            (true, meta::to_py(py, meta)?, body.into_any())
        }
        Outcome::Err(doc) => err_triple(py, &doc),
    })
}

/// The `(False, error JSON, b"")` of a failed call.
fn err_triple<'py>(py: Python<'py>, doc: &str) -> Triple<'py> {
    (
        false,
        PyString::new(py, doc).into_any(),
        PyBytes::new(py, b"").into_any(),
    )
}

/// A minimum-version pinning policy for servers (`hopsafe.pinning`).
#[pyclass(frozen, module = "hopsafe._native")]
struct NativePolicy {
    policy: hopsafe_pinning::Policy,
}

#[pymethods]
impl NativePolicy {
    /// Loads a policy from JSON or TOML text; returns (policy, None) or (None, error JSON).
    #[staticmethod]
    fn load(text: &str, format: &str) -> (Option<NativePolicy>, Option<String>) {
        match bridge::load_policy(text, format) {
            Ok(policy) => (Some(NativePolicy { policy }), None),
            Err(e) => (None, Some(bridge::error_json(&e))),
        }
    }

    /// `None` to let the request through, or `(status, problem JSON)` to refuse it.
    fn evaluate(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
    ) -> Option<(u16, String)> {
        bridge::evaluate_policy(&self.policy, method, path, &headers)
    }
}

/// Validates a request document without sending it (used by tests of argument errors).
#[pyfunction]
fn validate(request: &str) -> Option<String> {
    let client = hopsafe::Client::new().ok()?;
    build_request(&client, request, None)
        .err()
        .map(|e| bridge::error_json(&e))
}

/// Stops wake-ups before the interpreter finalizes (registered with `atexit`).
#[pyfunction]
fn stop_wakeups(py: Python<'_>) {
    exit::stop(py);
}

/// The hopsafe core version compiled into this module.
#[pyfunction]
fn core_version() -> &'static str {
    hopsafe::VERSION
}

/// Re-reads the Python `logging` levels (they are cached after first use).
#[pyfunction]
fn refresh_logging() {
    logs::refresh();
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The core's hop and retry events go to the `hopsafe.*` loggers of Python's `logging`.
    logs::install();
    m.add_function(wrap_pyfunction!(refresh_logging, m)?)?;
    m.add_class::<NativeClient>()?;
    m.add_class::<NativeHandle>()?;
    m.add_class::<NativeBodyWriter>()?;
    m.add_class::<NativeBody>()?;
    m.add_class::<NativeChunkHandle>()?;
    m.add_class::<NativePolicy>()?;
    m.add_class::<meta::NativeMeta>()?;
    m.add_class::<NativeLoopWaker>()?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(core_version, m)?)?;
    m.add_function(wrap_pyfunction!(stop_wakeups, m)?)?;
    Ok(())
}
