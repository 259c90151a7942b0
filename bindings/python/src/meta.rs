//! A response's metadata as the `NativeMeta` object `hopsafe.Response` reads: one native
//! object per response, its scalar fields read in one call, its headers and history turned
//! into Python values only when asked for (no `dict` of every field, no header list nobody
//! reads).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use hopsafe_bridge::meta::{dropped, lossy};
use hopsafe_bridge::Meta;

/// A response's status, URL, method, version, headers, redirect history, idempotency key,
/// attempts and write-accepted flag.
#[pyclass(frozen, module = "hopsafe._native")]
pub(crate) struct NativeMeta {
    meta: Meta,
}

/// What [`NativeMeta::fields`] gives: status, URL, method, version, idempotency key,
/// attempts, write-accepted flag, whether any redirect was followed.
type Fields<'a> = (
    u16,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    u32,
    bool,
    bool,
);

#[pymethods]
impl NativeMeta {
    /// The scalar fields in one call (a response reads all of them when it is made: one
    /// crossing instead of eight attribute reads).
    fn fields(&self) -> Fields<'_> {
        let m = &self.meta;
        (
            m.status,
            &m.url,
            &m.method,
            &m.http_version,
            m.idempotency_key.as_deref(),
            m.attempts,
            m.write_accepted,
            !m.history.is_empty(),
        )
    }

    /// The headers as `[(name, value)...]` in order, names in lower case (new list per call).
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let headers = PyList::empty(py);
        for (k, v) in &self.meta.headers {
            let value = match std::str::from_utf8(v.as_bytes()) {
                Ok(s) => PyString::new(py, s),
                Err(_) => PyString::new(py, &lossy(v)),
            };
            headers.append((k.as_str(), value))?;
        }
        Ok(headers)
    }

    /// The redirects followed, each a dict `{"method", "url", "status_code", "location",
    /// "idempotency_key", "attempts", "dropped"}` (new list per call).
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let history = PyList::empty(py);
        for h in &self.meta.history {
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
        Ok(history)
    }
}

/// `m` as a Python `NativeMeta`.
pub(crate) fn to_py<'py>(py: Python<'py>, m: Meta) -> PyResult<Bound<'py, PyAny>> {
    Ok(Bound::new(py, NativeMeta { meta: m })?.into_any())
}
