//! `hopsafe._native`: the thin layer between Python and the hopsafe core.
//!
//! Requests and responses cross the boundary as a JSON document plus the body bytes, so this
//! file only translates; the Python API (`python/hopsafe/__init__.py`) builds the documents
//! and raises the exception classes. Network work runs on the core's shared tokio runtime with
//! the GIL released.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use hopsafe_bridge as bridge;
use hopsafe_bridge::{build_client, build_request, Outcome};

/// A configured hopsafe client (connection pool included). Thread-safe.
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeClient {
    client: hopsafe::Client,
}

#[pymethods]
impl NativeClient {
    /// Builds a client from a JSON configuration; returns (client, None) or (None, error JSON).
    #[staticmethod]
    fn create(config: &str) -> (Option<NativeClient>, Option<String>) {
        match build_client(config, "python") {
            Ok(client) => (Some(NativeClient { client }), None),
            Err(e) => (None, Some(bridge::error_json(&e))),
        }
    }

    /// Sends a request and waits, with the GIL released. Returns (ok, meta JSON, body).
    fn send<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        body: Option<Vec<u8>>,
    ) -> (bool, String, Bound<'py, PyBytes>) {
        let client = self.client.clone();
        let request = request.to_owned();
        let outcome = py.detach(move || {
            hopsafe::runtime::block_on(async move { bridge::execute(client, &request, body).await })
        });
        into_py(outcome, py)
    }

    /// Sends a request whose body is produced by iterating `chunks` (bytes objects) on this
    /// thread while the request runs: each chunk is handed to the core with the GIL
    /// released. Iteration stops early when the core no longer reads the body. An exception
    /// raised by the iterator aborts the send and is re-raised here.
    fn send_stream<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        chunks: &Bound<'py, PyAny>,
    ) -> PyResult<(bool, String, Bound<'py, PyBytes>)> {
        let (tx, body) = bridge::body_channel(4);
        let (abort, outcome) = bridge::spawn(self.client.clone(), request.to_owned(), Some(body));
        let mut failure = None;
        for item in chunks.try_iter()? {
            match item.and_then(|c| c.extract::<Vec<u8>>()) {
                Ok(chunk) => {
                    if !py.detach(|| tx.send_blocking(chunk)) {
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
            py.detach(move || tx.fail(&reason));
            abort.abort();
            return Err(e);
        }
        drop(tx);
        let outcome = py.detach(move || hopsafe::runtime::block_on(outcome));
        Ok(into_py(outcome, py))
    }

    /// Starts a request on the runtime and returns its handle. When it ends (or is aborted),
    /// `wake()` is called once, from a thread of the runtime's blocking pool (AsyncClient
    /// passes a function that calls `loop.call_soon_threadsafe`); what it raises is ignored.
    fn start(&self, request: &str, body: Option<Vec<u8>>, wake: Py<PyAny>) -> NativeHandle {
        self.start_with(request, body.map(hopsafe::Body::from), wake)
    }

    /// Like `start`, with a body fed through the returned writer while the request runs.
    fn start_stream(&self, request: &str, wake: Py<PyAny>) -> (NativeHandle, NativeBodyWriter) {
        let (tx, body) = bridge::body_channel(4);
        let handle = self.start_with(request, Some(body), wake);
        let writer = NativeBodyWriter {
            tx: std::sync::Mutex::new(Some(tx)),
        };
        (handle, writer)
    }
}

impl NativeClient {
    fn start_with(
        &self,
        request: &str,
        body: Option<hopsafe::Body>,
        wake: Py<PyAny>,
    ) -> NativeHandle {
        let (abort, outcome) = bridge::spawn(self.client.clone(), request.to_owned(), body);
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let filled = slot.clone();
        hopsafe::runtime::shared().spawn(async move {
            let outcome = outcome.await;
            *filled.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            // Calling Python needs its thread state: taken on the blocking pool, so a runtime
            // worker never waits for it. Skipped once the interpreter is shutting down.
            // The JoinHandle is dropped: the call runs detached.
            drop(tokio::task::spawn_blocking(move || {
                Python::try_attach(|py| {
                    // A closed loop raises here; nobody awaits the request any more.
                    let _ = wake.call0(py);
                });
            }));
        });
        NativeHandle { abort, slot }
    }
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
            tx.fail_in_background(reason);
        }
    }
}

/// A request in flight: `cancel()` aborts it (the connection is dropped); `result()` takes
/// the outcome once `wake` was called.
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeHandle {
    abort: tokio::task::AbortHandle,
    slot: std::sync::Arc<std::sync::Mutex<Option<Outcome>>>,
}

#[pymethods]
impl NativeHandle {
    /// Aborts the request.
    fn cancel(&self) {
        self.abort.abort();
    }

    /// The outcome `(ok, meta, body)`, or `None` while the request runs.
    fn result<'py>(&self, py: Python<'py>) -> Option<(bool, String, Bound<'py, PyBytes>)> {
        let outcome = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(into_py(outcome, py))
    }
}

/// An outcome as the `(ok, meta, body)` tuple Python receives.
fn into_py(outcome: Outcome, py: Python<'_>) -> (bool, String, Bound<'_, PyBytes>) {
    match outcome {
        Outcome::Ok { meta, body } => (true, meta, PyBytes::new(py, &body)),
        Outcome::Err(meta) => (false, meta, PyBytes::new(py, b"")),
    }
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

/// The hopsafe core version compiled into this module.
#[pyfunction]
fn core_version() -> &'static str {
    hopsafe::VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeClient>()?;
    m.add_class::<NativeHandle>()?;
    m.add_class::<NativeBodyWriter>()?;
    m.add_class::<NativePolicy>()?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(core_version, m)?)?;
    Ok(())
}
