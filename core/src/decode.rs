//! Decoding gzip, brotli and zstd bodies of final responses while they stream (feature
//! `decompress`, on by default). Redirect (3xx) bodies are never decoded: the engine drains
//! them raw.
//!
//! A decompression bomb is stopped while it inflates, not after: output is produced in reads
//! of at most [`READ_SIZE`] bytes, and once more than [`RATIO_FLOOR`] bytes came out, a body
//! that grows past [`MAX_RATIO`] times its encoded size ends in
//! [`Error::ResponseTooLarge`](crate::Error).

#![cfg_attr(not(feature = "decompress"), allow(dead_code))]

use http::HeaderMap;

/// The `Accept-Encoding` the client sends unless the caller set one, if decoding is built in.
pub(crate) const ACCEPT_ENCODING: Option<&str> = if cfg!(feature = "decompress") {
    Some("gzip, br, zstd")
} else {
    None
};

/// Decoded bytes produced per read.
pub const READ_SIZE: usize = 64 * 1024;
/// Below this much decoded output, the ratio is not checked (small bodies compress well).
pub const RATIO_FLOOR: u64 = 4 * 1024 * 1024;
/// The largest decoded/encoded ratio accepted past [`RATIO_FLOOR`]. Text and JSON compress
/// 5 to 20 times; a gzip bomb of zeros inflates about 1000 times.
pub const MAX_RATIO: u64 = 250;

/// The encodings decoded, from a `Content-Encoding` value (one coding; stacked codings and
/// unknown ones are returned as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Brotli,
    Zstd,
}

/// The coding of a response body that hopsafe decodes, if any.
pub(crate) fn coding(headers: &HeaderMap) -> Option<Coding> {
    if !cfg!(feature = "decompress") {
        return None;
    }
    let value = headers.get(http::header::CONTENT_ENCODING)?.to_str().ok()?;
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => Some(Coding::Gzip),
        "br" => Some(Coding::Brotli),
        "zstd" => Some(Coding::Zstd),
        _ => None,
    }
}

/// Whether `decoded` bytes from `encoded` bytes look like a bomb.
pub(crate) fn is_bomb(encoded: u64, decoded: u64) -> bool {
    decoded > RATIO_FLOOR && decoded > encoded.saturating_mul(MAX_RATIO)
}

#[cfg(feature = "decompress")]
pub(crate) use streaming::Decoded;

#[cfg(feature = "decompress")]
mod streaming {
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    use bytes::{Bytes, BytesMut};
    use futures_util::stream::{self, Stream};
    use tokio::io::{AsyncRead, AsyncReadExt};
    use tokio_util::io::StreamReader;
    use url::Url;

    use super::{is_bomb, Coding, READ_SIZE};
    use crate::error::{Error, Result};
    use crate::raw_body::RawBody;

    type Reader = Pin<Box<dyn AsyncRead + Send>>;

    /// A body decoded while it is read.
    pub(crate) struct Decoded {
        // A Mutex so the body stays Sync; `&mut self` reaches it without locking.
        reader: Mutex<Reader>,
        encoded: Arc<AtomicU64>,
        decoded: u64,
        url: Url,
    }

    impl std::fmt::Debug for Decoded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Decoded")
                .field("decoded", &self.decoded)
                .finish_non_exhaustive()
        }
    }

    impl Decoded {
        /// Decodes `raw` (read with its timeouts) as `coding`.
        pub(crate) fn new(coding: Coding, raw: RawBody, url: Url) -> Decoded {
            let encoded = Arc::new(AtomicU64::new(0));
            let source = StreamReader::new(raw_stream(raw, url.clone(), encoded.clone()));
            let reader: Reader = match coding {
                Coding::Gzip => {
                    let mut d = GzipDecoder::new(source);
                    d.multiple_members(true);
                    Box::pin(d)
                }
                Coding::Brotli => Box::pin(BrotliDecoder::new(source)),
                Coding::Zstd => Box::pin(ZstdDecoder::new(source)),
            };
            Decoded {
                reader: Mutex::new(reader),
                encoded,
                decoded: 0,
                url,
            }
        }

        /// The next decoded bytes; `None` at the end.
        pub(crate) async fn next(&mut self) -> Result<Option<Bytes>> {
            let reader = self
                .reader
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut buf = BytesMut::with_capacity(READ_SIZE);
            let n = match reader.read_buf(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Err(from_io(e, &self.url)),
            };
            if n == 0 {
                return Ok(None);
            }
            self.decoded += n as u64;
            if is_bomb(self.encoded.load(Ordering::Relaxed), self.decoded) {
                return Err(Error::ResponseTooLarge {
                    url: self.url.to_string(),
                    limit: usize::try_from(self.decoded).unwrap_or(usize::MAX),
                    reason: format!(
                        "it decodes to more than {} times its encoded size (a decompression bomb)",
                        super::MAX_RATIO
                    ),
                    history: Vec::new(),
                });
            }
            Ok(Some(buf.freeze()))
        }
    }

    /// The raw body as a stream for the decoder; our own errors travel inside io::Error.
    fn raw_stream(
        raw: RawBody,
        url: Url,
        encoded: Arc<AtomicU64>,
    ) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
        stream::unfold(Some(raw), move |raw| {
            let (url, encoded) = (url.clone(), encoded.clone());
            async move {
                let mut raw = raw?;
                match raw.next(&url).await {
                    Ok(Some(chunk)) => {
                        encoded.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        Some((Ok(chunk), Some(raw)))
                    }
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e)), None)),
                }
            }
        })
    }

    /// An error of the raw body as it was; anything else is a body that does not decode.
    fn from_io(e: std::io::Error, url: &Url) -> Error {
        let reason = format!("cannot decode body: {e}");
        match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(ours)) => *ours,
            Some(Err(other)) => Error::Transport {
                url: url.to_string(),
                reason,
                source: Some(other),
                history: Vec::new(),
            },
            None => Error::Transport {
                url: url.to_string(),
                reason,
                source: None,
                history: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_and_the_bomb_ratio() {
        let mut h = HeaderMap::new();
        assert_eq!(coding(&h), None);
        for (value, want) in [
            ("gzip", Some(Coding::Gzip)),
            (" X-Gzip ", Some(Coding::Gzip)),
            ("br", Some(Coding::Brotli)),
            ("zstd", Some(Coding::Zstd)),
            ("identity", None),
            ("gzip, br", None),
        ] {
            h.insert(http::header::CONTENT_ENCODING, value.parse().unwrap());
            let want = want.filter(|_| cfg!(feature = "decompress"));
            assert_eq!(coding(&h), want, "{value}");
        }
        assert!(!is_bomb(1, RATIO_FLOOR));
        assert!(!is_bomb(RATIO_FLOOR, RATIO_FLOOR * 2));
        assert!(is_bomb(1000, RATIO_FLOOR + 1));
        assert!(!is_bomb(u64::MAX, u64::MAX));
    }
}
