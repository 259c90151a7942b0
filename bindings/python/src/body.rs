//! Response bodies read from Python (`Client.stream()`): chunk by chunk or whole.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use hopsafe_bridge as bridge;

use crate::driver::Driver;
use crate::{fill_then_wake, Slot};

/// A response body to read (`Client.stream()`): chunk by chunk, or whole (capped by the
/// client's `max_body_size`). Blocking reads release the GIL while they wait; `close()`
/// aborts the transfer unless the body was read to the end, and so does dropping it.
#[pyclass(frozen, module = "hopsafe._native")]
pub(crate) struct NativeBody {
    pub(crate) reader: std::sync::Arc<bridge::BodyReader>,
    /// The runtime of the client that returned it (the connection lives there).
    pub(crate) driver: Driver,
}

#[pymethods]
impl NativeBody {
    /// The next chunk as `(bytes, None)`, `(None, None)` at the end, or `(None, error JSON)`.
    /// Blocks with the GIL released.
    fn next<'py>(&self, py: Python<'py>) -> ChunkPy<'py> {
        // Bytes (or the end) already here need no trip to the runtime.
        if let Some(chunk) = self.reader.try_next() {
            return chunk_py(chunk, py);
        }
        let reader = self.reader.clone();
        let chunk = py.detach(|| self.driver.block_on(async move { reader.next().await }));
        chunk_py(chunk, py)
    }

    /// The rest of the body as `(bytes, None)` or `(None, error JSON)`, capped by
    /// `max_body_size`. Blocks with the GIL released.
    fn read<'py>(&self, py: Python<'py>) -> ChunkPy<'py> {
        if let Some(chunk) = self.reader.try_read_all() {
            return chunk_py(chunk, py);
        }
        let reader = self.reader.clone();
        let chunk = py.detach(|| self.driver.block_on(async move { reader.read_all().await }));
        chunk_py(chunk, py)
    }

    /// Like `next`, without blocking: `wake()` is called once the chunk is in the handle.
    fn start_next(&self, wake: Py<PyAny>) -> NativeChunkHandle {
        let reader = self.owned_by_runtime();
        NativeChunkHandle {
            slot: fill_then_wake(
                async move {
                    match reader {
                        Ok(reader) => reader.next().await,
                        Err(doc) => bridge::Chunk::Err(doc),
                    }
                },
                wake,
            ),
        }
    }

    /// Like `read`, without blocking: `wake()` is called once the body is in the handle.
    fn start_read(&self, wake: Py<PyAny>) -> NativeChunkHandle {
        let reader = self.owned_by_runtime();
        NativeChunkHandle {
            slot: fill_then_wake(
                async move {
                    match reader {
                        Ok(reader) => reader.read_all().await,
                        Err(doc) => bridge::Chunk::Err(doc),
                    }
                },
                wake,
            ),
        }
    }

    /// Aborts the transfer unless the body was read to the end; later reads fail.
    fn close(&self, py: Python<'_>) {
        if self.reader.close() {
            py.detach(|| self.driver.settle());
        }
    }
}

impl Drop for NativeBody {
    /// Dropped unread (never closed) from a blocking client: the transfer is aborted now, as
    /// by `close`, not at the client's next call.
    fn drop(&mut self) {
        if !self.driver.runs_alone() && self.reader.close() {
            self.driver.settle();
        }
    }
}

impl NativeBody {
    /// The reader, for a read that runs on its own (the shared runtime drives the body), or
    /// the error document when a blocking client's body is asked for one.
    fn owned_by_runtime(&self) -> Result<std::sync::Arc<bridge::BodyReader>, String> {
        match self.driver.runs_alone() {
            true => Ok(self.reader.clone()),
            false => Err(bridge::error_json(&hopsafe::Error::InvalidConfig {
                reason: "the body of a blocking client's response is read blocking".into(),
            })),
        }
    }
}

/// A read in flight (`NativeBody.start_next` / `start_read`).
#[pyclass(frozen, module = "hopsafe._native")]
pub(crate) struct NativeChunkHandle {
    slot: Slot<bridge::Chunk>,
}

#[pymethods]
impl NativeChunkHandle {
    /// What `next`/`read` would return, or `None` while the read runs.
    fn result<'py>(&self, py: Python<'py>) -> Option<ChunkPy<'py>> {
        let chunk = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(chunk_py(chunk, py))
    }
}

type ChunkPy<'py> = (Option<Bound<'py, PyBytes>>, Option<String>);

/// A chunk as Python sees it. The one copy: from the core's `Bytes` straight into the new
/// `bytes` object (a `bytes` owns its memory, so it cannot borrow the core's buffer).
fn chunk_py(chunk: bridge::Chunk, py: Python<'_>) -> ChunkPy<'_> {
    match chunk {
        bridge::Chunk::Data(b) => (Some(PyBytes::new(py, &b)), None),
        bridge::Chunk::End => (None, None),
        bridge::Chunk::Err(doc) => (None, Some(doc)),
    }
}

/// Reads a large body of known length straight into a new `bytes` object, with the GIL
/// released, each chunk copied once into its place as it arrives. `Err` is the error
/// document.
pub(crate) fn read_sized<'py>(
    py: Python<'py>,
    body: bridge::SizedBody,
    driver: &Driver,
) -> PyResult<Result<Bound<'py, PyAny>, String>> {
    let len = body.len();
    let size = pyo3::ffi::Py_ssize_t::try_from(len)?;
    // SAFETY: a NULL source asks CPython for a `bytes` of `size` uninitialized bytes.
    let obj = unsafe { pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
    // SAFETY: `obj` is a new reference (or NULL with the exception set).
    let obj = unsafe { Bound::from_owned_ptr_or_err(py, obj)? };
    // SAFETY: the object is a `bytes` of `len` bytes; nothing else holds it (it is not
    // returned to Python before it is filled), so writing through the pointer with the GIL
    // released races with nothing, and its uninitialized bytes are only ever written.
    let data = unsafe { pyo3::ffi::PyBytes_AsString(obj.as_ptr()) };
    let dest = SendPtr(data.cast());
    // Filled where the connection hands over each chunk (so it is copied while still in that
    // core's cache); this thread waits until the copy is done.
    let read = py.detach(move || {
        driver.block_on(async move {
            let dest = dest;
            // SAFETY: see above, and the buffer outlives the task (block_on returns only
            // once it ended); `MaybeUninit<u8>` makes no claim about the bytes' contents.
            let buf = unsafe { std::slice::from_raw_parts_mut(dest.0, len) };
            body.read_into(buf).await
        })
    });
    Ok(match read {
        Ok(n) if n == len => Ok(obj),
        // The server ended the body early without an error: hand over what came.
        Ok(n) => {
            // SAFETY: `read_into` initialized the first `n` bytes.
            let head = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), n) };
            Ok(PyBytes::new(py, head).into_any())
        }
        Err(doc) => Err(doc),
    })
}

/// The buffer of a `bytes` object not yet handed to Python, sent to the code that fills it.
struct SendPtr(*mut std::mem::MaybeUninit<u8>);

// SAFETY: the pointee is memory only the filling code touches until it returns.
unsafe impl Send for SendPtr {}
