//! A whole body kept as the pieces it arrived in, for a foreign side that copies them into
//! its own array itself (Kotlin's direct calls, `direct.rs` and `direct_async.rs`).
//!
//! `HttpResponse::read` gathers a body into one buffer (`Response::read_all`), and uniffi's
//! serialisation copies it again: a 10 MiB download then went through two 10 MiB Rust
//! buffers (each a fresh mapping, page-faulted in) before Kotlin copied it into its
//! `ByteArray`. Handed over as pieces, each byte is copied once, into that array. A small
//! body still travels inside the serialised response ([`INLINE_MAX`]).

use bytes::Bytes;
use hopsafe::Response;

use crate::blob::Blob;
use crate::error::HopsafeError;
use crate::types::HttpResponse;

/// Reads `resp`'s whole body: the response with an empty `body`, and the body's pieces. A
/// body whose length is known (a `Content-Length` body read as sent) within the client's
/// `max_body_size` is kept as its chunks; any other is read by `Response::read_all` (its cap
/// checked there) and comes as one piece.
pub(crate) async fn read(mut resp: Response) -> Result<(HttpResponse, Vec<Bytes>), HopsafeError> {
    let fits = |n: u64| resp.max_body_size().is_none_or(|cap| n <= cap);
    let pieces = match resp.remaining_length() {
        Some(n) if fits(n) => {
            let mut pieces = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                pieces.push(chunk);
            }
            pieces
        }
        _ => vec![resp.read_all().await?],
    };
    Ok((HttpResponse::head(&resp, Blob::default()), pieces))
}

/// Why a body over `i32::MAX` bytes is refused, as uniffi's `Vec<u8>` (and `Blob`) refuses it.
pub(crate) const TOO_LONG: &str = "a byte string over i32::MAX bytes";

/// Bodies up to this size go inside the serialised response, as before: copying them there
/// costs less than the two JNA calls Kotlin makes to copy pieces.
pub(crate) const INLINE_MAX: usize = 64 << 10;

/// The response to serialise and the `[address, length, address, length, ...]` of the
/// pieces left out of it: a body up to [`INLINE_MAX`] goes inside (no pairs), a longer one
/// stays in `pieces`. `None` when the body is more than a JVM array holds (`i32::MAX` bytes).
pub(crate) fn lay_out(
    mut head: HttpResponse,
    pieces: &[Bytes],
) -> Option<(HttpResponse, Vec<i64>)> {
    let total: usize = pieces.iter().map(Bytes::len).sum();
    i32::try_from(total).ok()?;
    if total <= INLINE_MAX {
        head.body = Blob(pieces.concat());
        return Some((head, Vec::new()));
    }
    let pairs = pieces
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| [p.as_ptr() as i64, p.len() as i64])
        .collect();
    Some((head, pairs))
}
