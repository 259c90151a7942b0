//! Response bodies: in-memory, generated, trickled, and the gzip bomb.

use std::convert::Infallible;
use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use futures_util::stream;
use http_body::Frame;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};

use crate::faults::SLOW_BODY_INTERVAL;

/// The response body type of every route.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Uncompressed size of the gzip bomb.
pub(crate) const GZIP_BOMB_INFLATED: usize = 64 * 1024 * 1024;

/// An in-memory body.
pub(crate) fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).boxed()
}

/// An empty body.
pub(crate) fn empty() -> Body {
    full(Bytes::new())
}

/// `n` bytes of `x`, generated in 64 KiB chunks.
pub(crate) fn repeat_x(n: u64) -> Body {
    const CHUNK: usize = 64 * 1024;
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let s = stream::unfold(n, move |left| {
        let chunk = chunk.clone();
        async move {
            if left == 0 {
                return None;
            }
            let take = left.min(CHUNK as u64) as usize;
            Some((
                Ok::<_, Infallible>(Frame::data(chunk.slice(..take))),
                left - take as u64,
            ))
        }
    });
    StreamBody::new(s).boxed()
}

/// `data`, sent one byte per [`SLOW_BODY_INTERVAL`] (the first byte after one interval).
pub(crate) fn trickle(data: Bytes) -> Body {
    let s = stream::unfold(0usize, move |i| {
        let data = data.clone();
        async move {
            if i >= data.len() {
                return None;
            }
            tokio::time::sleep(SLOW_BODY_INTERVAL).await;
            Some((
                Ok::<_, Infallible>(Frame::data(data.slice(i..i + 1))),
                i + 1,
            ))
        }
    });
    StreamBody::new(s).boxed()
}

/// A gzip member inflating to [`GZIP_BOMB_INFLATED`] zero bytes (about 64 KiB on the wire);
/// computed once per process.
pub(crate) fn gzip_bomb() -> Bytes {
    static BOMB: OnceLock<Bytes> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..GZIP_BOMB_INFLATED / zeros.len() {
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(&zeros);
        }
        Bytes::from(enc.finish().unwrap_or_default())
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bomb_is_small_and_inflates() {
        let b = gzip_bomb();
        assert!(b.len() < 200 * 1024, "{}", b.len());
        let mut d = flate2::read::GzDecoder::new(&b[..]);
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let k = d.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            n += k;
        }
        assert_eq!(n, GZIP_BOMB_INFLATED);
    }
}
