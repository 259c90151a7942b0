//! Generated and encoded step bodies: the numbered-lines pattern, `Content-Encoding`, and the
//! hold that proves a client hands body bytes over as they arrive.

use std::collections::HashSet;
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tokio::sync::Notify;

use crate::body::Body;

/// Bytes per line of the pattern: 15 decimal digits and `\n`.
pub const LINE: u64 = 16;
/// Largest generated body that may also be encoded (it is encoded whole, in memory).
pub const MAX_ENCODED_SOURCE: u64 = 64 * 1024 * 1024;
/// How long a held body waits for its release before it ends short.
pub const HOLD_LIMIT: Duration = Duration::from_secs(20);
const CHUNK: u64 = 64 * 1024;

/// Bytes `from..from+len` of the pattern: line `i` is `i` as 15 zero-padded digits and `\n`
/// (`000000000000000\n000000000000001\n...`), cut at any length.
pub fn pattern(from: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize);
    let end = from + len;
    let mut line = from / LINE;
    while line * LINE < end {
        let mut digits = [b'0'; LINE as usize];
        digits[15] = b'\n';
        let mut n = line;
        for d in digits[..15].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let start = line * LINE;
        let lo = from.max(start) - start;
        let hi = end.min(start + LINE) - start;
        out.extend_from_slice(&digits[lo as usize..hi as usize]);
        line += 1;
    }
    out
}

/// FNV-1a (64-bit) of `data`, as 16 lowercase hex digits: the body digest runners report.
pub fn fnv1a64(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Encodes `data` with a `Content-Encoding` token (`gzip`, `br`, `zstd`).
pub fn encode(encoding: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    match encoding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).map_err(|e| e.to_string())?;
            e.finish().map_err(|e| e.to_string())
        }
        "br" => {
            let mut out = Vec::new();
            let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 5, 22);
            w.write_all(data).map_err(|e| e.to_string())?;
            drop(w);
            Ok(out)
        }
        "zstd" => zstd::encode_all(data, 3).map_err(|e| e.to_string()),
        other => Err(format!("unknown encoding {other:?} (gzip, br, zstd)")),
    }
}

/// Scripts whose held bodies were released by `POST /__scripts/{id}/release`.
#[derive(Default)]
pub(crate) struct Releases {
    released: Mutex<HashSet<String>>,
    changed: Notify,
}

impl Releases {
    /// Releases script `id`'s held bodies (now and later).
    pub fn release(&self, id: &str) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned());
        self.changed.notify_waiters();
    }

    fn is_released(&self, id: &str) -> bool {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    /// Waits until `id` is released; false after [`HOLD_LIMIT`].
    async fn wait(&self, id: &str) -> bool {
        let waited = tokio::time::timeout(HOLD_LIMIT, async {
            loop {
                let changed = self.changed.notified();
                if self.is_released(id) {
                    return;
                }
                changed.await;
            }
        });
        waited.await.is_ok()
    }
}

/// Where a step body's bytes come from.
pub(crate) enum Source {
    /// `len` bytes of [`pattern`], generated chunk by chunk.
    Pattern(u64),
    /// Bytes in memory (a text body, or an encoded one).
    Memory(Bytes),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Pattern(n) => *n,
            Source::Memory(b) => b.len() as u64,
        }
    }

    fn slice(&self, from: u64, len: u64) -> Bytes {
        match self {
            Source::Pattern(_) => Bytes::from(pattern(from, len)),
            Source::Memory(b) => b.slice(from as usize..(from + len) as usize),
        }
    }
}

/// A streamed body from `source`; with `hold`, it stops after that many bytes until script
/// `id` is released, and ends there (short) if no release comes within [`HOLD_LIMIT`].
pub(crate) fn streamed(source: Source, hold: Option<(u64, String, Arc<Releases>)>) -> Body {
    let total = source.len();
    let hold = hold.map(|(at, id, r)| (at.min(total), id, r));
    let s = stream::unfold(
        (0u64, hold, source),
        move |(sent, mut hold, source)| async move {
            if let Some((at, id, releases)) = &hold {
                if sent == *at {
                    if !releases.wait(id).await {
                        return None;
                    }
                    hold = None;
                }
            }
            if sent >= total {
                return None;
            }
            let limit = hold.as_ref().map_or(total, |(at, _, _)| *at);
            let n = CHUNK.min(limit - sent);
            let chunk = source.slice(sent, n);
            Some((
                Ok::<_, Infallible>(Frame::data(chunk)),
                (sent + n, hold, source),
            ))
        },
    );
    StreamBody::new(s).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_numbered_lines_cut_anywhere() {
        assert_eq!(pattern(0, 16), b"000000000000000\n");
        assert_eq!(pattern(30, 5), b"1\n000");
        let whole = pattern(0, 1000);
        for from in [0u64, 1, 15, 16, 17, 500] {
            for len in [0u64, 1, 16, 33, 100] {
                assert_eq!(
                    pattern(from, len),
                    &whole[from as usize..(from + len) as usize]
                );
            }
        }
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a64(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn encodings_round_trip() {
        use std::io::Read;
        let data = pattern(0, 100_000);
        let gz = encode("gzip", &data).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let br = encode("br", &data).unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(
            zstd::decode_all(&encode("zstd", &data).unwrap()[..]).unwrap(),
            data
        );
        assert!(encode("deflate", &data).is_err());
    }
}
