//! A response's metadata as the `dict` `hopsafe.Response` reads (built here instead of
//! parsed from JSON in Python).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use hopsafe_bridge::meta::{dropped, lossy};
use hopsafe_bridge::Meta;

/// `{"status_code", "url", "method", "http_version", "headers": [(name, value)...],
/// "history": [hop dict...], "idempotency_key", "attempts", "write_accepted"}`.
pub(crate) fn to_dict<'py>(py: Python<'py>, m: &Meta) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("status_code", m.status)?;
    d.set_item("url", &m.url)?;
    d.set_item("method", &m.method)?;
    d.set_item("http_version", &m.http_version)?;
    let headers = PyList::empty(py);
    for (k, v) in &m.headers {
        headers.append((k.as_str(), lossy(v)))?;
    }
    d.set_item("headers", headers)?;
    let history = PyList::empty(py);
    for h in &m.history {
        let hop = PyDict::new(py);
        hop.set_item("method", h.method.as_str())?;
        hop.set_item("url", h.url.as_str())?;
        hop.set_item("status_code", h.status.as_u16())?;
        hop.set_item("location", &h.location)?;
        hop.set_item("idempotency_key", &h.idempotency_key)?;
        hop.set_item("attempts", h.attempts)?;
        hop.set_item("dropped", dropped(h))?;
        history.append(hop)?;
    }
    d.set_item("history", history)?;
    d.set_item("idempotency_key", &m.idempotency_key)?;
    d.set_item("attempts", m.attempts)?;
    d.set_item("write_accepted", m.write_accepted)?;
    Ok(d)
}
