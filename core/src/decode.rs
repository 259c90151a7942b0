//! Optional decoding of gzip and brotli bodies of final responses (feature `decompress`).
//! Redirect (3xx) bodies are never decoded: the engine drains them raw.

use bytes::Bytes;
use http::HeaderMap;
use url::Url;

use crate::error::Result;

/// The `Accept-Encoding` the client sends, if decoding is built in.
pub(crate) const ACCEPT_ENCODING: Option<&str> = if cfg!(feature = "decompress") {
    Some("gzip, br")
} else {
    None
};

/// Decoded output larger than this is refused (a decompression bomb).
#[cfg(feature = "decompress")]
pub const MAX_DECODED_LEN: usize = 256 * 1024 * 1024;

#[cfg(not(feature = "decompress"))]
pub(crate) fn decode(_headers: &HeaderMap, body: Bytes, _url: &Url) -> Result<Bytes> {
    Ok(body)
}

#[cfg(feature = "decompress")]
pub(crate) fn decode(headers: &HeaderMap, body: Bytes, url: &Url) -> Result<Bytes> {
    use std::io::Read;
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let mut out = Vec::new();
    let limit = MAX_DECODED_LEN as u64 + 1;
    let read = match encoding.as_deref() {
        Some("gzip") | Some("x-gzip") => flate2::read::MultiGzDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(&body[..], 8192)
            .take(limit)
            .read_to_end(&mut out),
        _ => return Ok(body),
    };
    read.map_err(|e| crate::Error::Transport {
        url: url.to_string(),
        reason: format!("cannot decode body: {e}"),
        source: Some(Box::new(e)),
        history: Vec::new(),
    })?;
    if out.len() > MAX_DECODED_LEN {
        return Err(crate::Error::ResponseTooLarge {
            url: url.to_string(),
            limit: MAX_DECODED_LEN,
            history: Vec::new(),
        });
    }
    Ok(out.into())
}

#[cfg(all(test, feature = "decompress"))]
mod tests {
    use super::*;
    use std::io::Write;

    fn headers(enc: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_ENCODING, enc.parse().unwrap());
        h
    }

    #[test]
    fn gzip_and_brotli_are_decoded() {
        let url = Url::parse("http://a.test/").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"hello gzip").unwrap();
        let body = Bytes::from(gz.finish().unwrap());
        assert_eq!(decode(&headers("gzip"), body, &url).unwrap(), "hello gzip");
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(b"hello br").unwrap();
        }
        assert_eq!(decode(&headers("br"), br.into(), &url).unwrap(), "hello br");
        let plain = Bytes::from_static(b"as is");
        assert_eq!(
            decode(&headers("identity"), plain.clone(), &url).unwrap(),
            plain
        );
        assert!(decode(&headers("gzip"), Bytes::from_static(b"not gzip"), &url).is_err());
    }
}
