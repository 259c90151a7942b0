//! Response bodies read from Python (`Client.stream()`): chunk by chunk or whole.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use hopsafe_bridge as bridge;

use crate::wake::Wake;
use crate::{fill_then_wake, Slot};
use hopsafe::runtime::Driver;

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
        if let Some(chunk) = self.ready(false) {
            return chunk_py(chunk, py);
        }
        let reader = self.reader.clone();
        let chunk = py.detach(|| self.driver.block_on(async move { reader.next().await }));
        chunk_py(chunk, py)
    }

    /// What `next` gives when that needs no waiting (bytes, the end or the error are already
    /// here), else `None`. Never blocks.
    fn try_next<'py>(&self, py: Python<'py>) -> Option<ChunkPy<'py>> {
        self.ready(false).map(|chunk| chunk_py(chunk, py))
    }

    /// The rest of the body as `(bytes, None)` or `(None, error JSON)`, capped by
    /// `max_body_size`. Blocks with the GIL released.
    fn read<'py>(&self, py: Python<'py>) -> ChunkPy<'py> {
        if let Some(chunk) = self.ready(true) {
            return chunk_py(chunk, py);
        }
        let reader = self.reader.clone();
        let chunk = py.detach(|| self.driver.block_on(async move { reader.read_all().await }));
        chunk_py(chunk, py)
    }

    /// Like `next`, without blocking: the loop is woken (`wake` as for `NativeClient.start`)
    /// once the chunk is in the handle.
    fn start_next(&self, py: Python<'_>, wake: Py<PyAny>) -> PyResult<NativeChunkHandle> {
        Ok(self.start_reading(false, Wake::extract(wake, py)?))
    }

    /// Like `read`, without blocking: the loop is woken once the body is in the handle.
    fn start_read(&self, py: Python<'_>, wake: Py<PyAny>) -> PyResult<NativeChunkHandle> {
        Ok(self.start_reading(true, Wake::extract(wake, py)?))
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
    /// The next chunk (`whole`: the rest of the body) read on the runtime into a handle, then
    /// the loop woken.
    fn start_reading(&self, whole: bool, wake: Wake) -> NativeChunkHandle {
        let reader = self.owned_by_runtime();
        let read = async move {
            match reader {
                Ok(reader) if whole => reader.read_all().await,
                Ok(reader) => reader.next().await,
                Err(doc) => bridge::Chunk::Err(doc),
            }
        };
        NativeChunkHandle {
            slot: fill_then_wake(read, wake),
        }
    }

    /// The next chunk (or with `whole` the rest of the body) when it is already here, else
    /// `None`. Run with this body's runtime entered: the timers a read may set up belong to
    /// the runtime that drives its connection (a blocking client never starts the shared one).
    fn ready(&self, whole: bool) -> Option<bridge::Chunk> {
        let _rt = self.driver.handle().enter();
        match whole {
            true => self.reader.try_read_all(),
            false => self.reader.try_next(),
        }
    }

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
    let (obj, dest) = uninit_bytes(py, body.len())?;
    // Filled where the connection hands over each chunk (so it is copied while still in that
    // core's cache); this thread waits until the copy is done.
    let read = py.detach(move || driver.block_on(fill(body, dest)));
    Ok(read.map(|n| written(py, obj, n)))
}

/// A `bytes` object filled off the GIL ([`read_sized_async`]): `written` of its bytes are
/// the body.
pub(crate) struct Filled {
    obj: Py<PyAny>,
    written: usize,
}

impl Filled {
    /// The body as the `bytes` Python receives.
    pub(crate) fn into_bytes(self, py: Python<'_>) -> Bound<'_, PyAny> {
        written(py, self.obj.into_bound(py), self.written)
    }
}

/// [`read_sized`] from a task of the runtime (`AsyncClient`): the `bytes` is allocated with
/// the GIL taken on the runtime's blocking pool, then filled as chunks arrive. When no
/// `bytes` can be had (the interpreter is exiting, or out of memory) the body is read the
/// usual way, into the core's buffer.
pub(crate) async fn read_sized_async(body: bridge::SizedBody) -> Result<Filled, bridge::Outcome> {
    let len = body.len();
    let alloc = tokio::task::spawn_blocking(move || {
        let _waking = crate::exit::Waking::start()?;
        Python::try_attach(|py| {
            let (obj, dest) = uninit_bytes(py, len).ok()?;
            Some((obj.unbind(), dest))
        })?
    })
    .await;
    let Ok(Some((obj, dest))) = alloc else {
        return Err(body.read_whole().await);
    };
    // `obj` is held here until the body is read (or this future is dropped, which stops the
    // writing first): the buffer outlives every write into it.
    match fill(body, dest).await {
        Ok(written) => Ok(Filled { obj, written }),
        Err(doc) => Err(bridge::Outcome::Err(doc)),
    }
}

/// A new `bytes` object of `len` uninitialized bytes, and where they are.
fn uninit_bytes(py: Python<'_>, len: usize) -> PyResult<(Bound<'_, PyAny>, SendPtr)> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)?;
    // SAFETY: a NULL source asks CPython for a `bytes` of `size` uninitialized bytes.
    let obj = unsafe { pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
    // SAFETY: `obj` is a new reference (or NULL with the exception set).
    let obj = unsafe { Bound::from_owned_ptr_or_err(py, obj)? };
    // SAFETY: `obj` is a `bytes`.
    let data = unsafe { pyo3::ffi::PyBytes_AsString(obj.as_ptr()) };
    Ok((obj, SendPtr(data.cast(), len)))
}

/// Fills the buffer of a `bytes` from the body: how many bytes were written, or the error
/// document.
async fn fill(body: bridge::SizedBody, dest: SendPtr) -> Result<usize, String> {
    // SAFETY: `dest` is the buffer of a `bytes` nothing else holds (it is not handed to
    // Python before it is filled), kept alive by the caller until this future ends or is
    // dropped, so writing to it with the GIL released races with nothing; its uninitialized
    // bytes are only ever written (`MaybeUninit<u8>` makes no claim about them).
    let buf = unsafe { std::slice::from_raw_parts_mut(dest.0, dest.1) };
    body.read_into(buf).await
}

/// The body in `obj`, of which `n` bytes were written: `obj` itself when it is full; when the
/// server ended the body early without an error, a copy of what came.
fn written<'py>(py: Python<'py>, obj: Bound<'py, PyAny>, n: usize) -> Bound<'py, PyAny> {
    // SAFETY: `obj` is a `bytes`.
    let (data, len) = unsafe {
        let p = obj.as_ptr();
        (pyo3::ffi::PyBytes_AsString(p), pyo3::ffi::PyBytes_Size(p))
    };
    if usize::try_from(len).is_ok_and(|len| len == n) {
        return obj;
    }
    // SAFETY: the first `n` bytes were written by `fill` (`n` <= its length).
    let head = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), n) };
    PyBytes::new(py, head).into_any()
}

/// The buffer of a `bytes` object not yet handed to Python (start, length), sent to the code
/// that fills it.
struct SendPtr(*mut std::mem::MaybeUninit<u8>, usize);

// SAFETY: the pointee is memory only the filling code touches until it returns.
unsafe impl Send for SendPtr {}
