//! Streamed request bodies: a `BodySource` implemented in Kotlin or Swift, read chunk by
//! chunk on a blocking thread while the request is sent. The core keeps a copy up to the
//! client's replay limit, so a 307/308 or a retry can resend it.

use std::sync::Arc;

use crate::error::HopsafeError;

/// A request body produced by the caller, one chunk per call (for example over an
/// `InputStream` or a `FileHandle`). hopsafe calls `read` from a background thread until it
/// returns `null`/`nil`; throwing aborts the upload (the server never sees it complete) and
/// the request fails with `BodyStream`.
#[uniffi::export(foreign)]
pub trait BodySource: Send + Sync {
    /// The next chunk, or `null`/`nil` at the end of the body.
    fn read(&self) -> Result<Option<Vec<u8>>, HopsafeError>;
}

/// The core body that pulls from `source`.
pub(crate) fn from_source(source: Arc<dyn BodySource>) -> hopsafe::Body {
    type Chunk = Result<bytes::Bytes, std::io::Error>;
    let chunks = futures_util::stream::unfold(Some(source), |state| async move {
        let source = state?;
        let pulled = tokio::task::spawn_blocking(move || (source.read(), source)).await;
        let item: (Chunk, Option<Arc<dyn BodySource>>) = match pulled {
            Ok((Ok(Some(chunk)), source)) => (Ok(chunk.into()), Some(source)),
            Ok((Ok(None), _)) => return None,
            Ok((Err(e), _)) => (Err(std::io::Error::other(e.to_string())), None),
            Err(e) => (
                Err(std::io::Error::other(format!("body source failed: {e}"))),
                None,
            ),
        };
        Some(item)
    });
    hopsafe::Body::from_stream(chunks)
}
