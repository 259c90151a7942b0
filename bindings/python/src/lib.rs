//! `hopsafe._native`: the thin layer between Python and the hopsafe core.
//!
//! Requests and responses cross the boundary as a JSON document plus the body bytes, so this
//! file only translates; the Python API (`python/hopsafe/__init__.py`) builds the documents
//! and raises the exception classes. Network work runs on the core's shared tokio runtime with
//! the GIL released.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use hopsafe_bridge as convert;
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
            Err(e) => (None, Some(convert::error_json(&e))),
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
            hopsafe::runtime::block_on(
                async move { convert::execute(client, &request, body).await },
            )
        });
        into_py(outcome, py)
    }

    /// Starts a request on the runtime; `callback(ok, meta, body)` is called from a runtime
    /// thread when it ends (not at all when cancelled). Returns a handle to cancel it.
    fn start(&self, request: &str, body: Option<Vec<u8>>, callback: Py<PyAny>) -> NativeHandle {
        let (abort, outcome) = convert::spawn(self.client.clone(), request.to_owned(), body);
        hopsafe::runtime::shared().spawn(async move {
            let outcome = outcome.await;
            Python::attach(|py| {
                let (ok, meta, body) = into_py(outcome, py);
                if let Err(e) = callback.call1(py, (ok, meta, body)) {
                    e.print(py);
                }
            });
        });
        NativeHandle { abort }
    }
}

/// A request in flight; `cancel()` aborts it (the connection is dropped).
#[pyclass(frozen, module = "hopsafe._native")]
struct NativeHandle {
    abort: tokio::task::AbortHandle,
}

#[pymethods]
impl NativeHandle {
    /// Aborts the request.
    fn cancel(&self) {
        self.abort.abort();
    }
}

/// An outcome as the `(ok, meta, body)` tuple Python receives.
fn into_py(outcome: Outcome, py: Python<'_>) -> (bool, String, Bound<'_, PyBytes>) {
    match outcome {
        Outcome::Ok { meta, body } => (true, meta, PyBytes::new(py, &body)),
        Outcome::Err(meta) => (false, meta, PyBytes::new(py, b"")),
    }
}

/// Validates a request document without sending it (used by tests of argument errors).
#[pyfunction]
fn validate(request: &str) -> Option<String> {
    let client = hopsafe::Client::new().ok()?;
    build_request(&client, request, None)
        .err()
        .map(|e| convert::error_json(&e))
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
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(core_version, m)?)?;
    Ok(())
}
