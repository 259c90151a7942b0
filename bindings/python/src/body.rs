//! Response bodies read from Python (`Client.stream()`): chunk by chunk or whole.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use hopsafe_bridge as bridge;

use crate::{fill_then_wake, Slot};

/// A response body to read (`Client.stream()`): chunk by chunk, or whole (capped by the
/// client's `max_body_size`). Blocking reads release the GIL while they wait; `close()`
/// aborts the transfer unless the body was read to the end, and so does dropping it.
#[pyclass(frozen, module = "hopsafe._native")]
pub(crate) struct NativeBody {
    pub(crate) reader: std::sync::Arc<bridge::BodyReader>,
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
        let chunk =
            py.detach(move || hopsafe::runtime::block_on(async move { reader.next().await }));
        chunk_py(chunk, py)
    }

    /// The rest of the body as `(bytes, None)` or `(None, error JSON)`, capped by
    /// `max_body_size`. Blocks with the GIL released.
    fn read<'py>(&self, py: Python<'py>) -> ChunkPy<'py> {
        if let Some(chunk) = self.reader.try_read_all() {
            return chunk_py(chunk, py);
        }
        let reader = self.reader.clone();
        let chunk =
            py.detach(move || hopsafe::runtime::block_on(async move { reader.read_all().await }));
        chunk_py(chunk, py)
    }

    /// Like `next`, without blocking: `wake()` is called once the chunk is in the handle.
    fn start_next(&self, wake: Py<PyAny>) -> NativeChunkHandle {
        let reader = self.reader.clone();
        NativeChunkHandle {
            slot: fill_then_wake(async move { reader.next().await }, wake),
        }
    }

    /// Like `read`, without blocking: `wake()` is called once the body is in the handle.
    fn start_read(&self, wake: Py<PyAny>) -> NativeChunkHandle {
        let reader = self.reader.clone();
        NativeChunkHandle {
            slot: fill_then_wake(async move { reader.read_all().await }, wake),
        }
    }

    /// Aborts the transfer unless the body was read to the end; later reads fail.
    fn close(&self) {
        self.reader.close();
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
