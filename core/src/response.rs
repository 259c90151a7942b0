//! Responses: status, headers, the redirect history that led to them, and the body.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, Method, StatusCode, Version};
use http_body_util::BodyExt;
use url::Url;

use crate::error::{Error, Result, TimeoutPhase};
use crate::history::Hop;
use crate::transport::RespBody;

/// A response, after every redirect was followed.
#[derive(Debug)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) url: Url,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) history: Vec<Hop>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) sent_headers: Vec<HeaderName>,
    pub(crate) body: ResponseBody,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The HTTP version used for the final request.
    pub fn version(&self) -> Version {
        self.version
    }
    /// The final URL (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }
    /// The method of the final request.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// Every redirect followed, oldest first.
    pub fn history(&self) -> &[Hop] {
        &self.history
    }
    /// The idempotency key the final request carried, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// Attempts made for the final request (1 without retries).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Names of the headers sent with the final request (values are not kept).
    pub fn sent_headers(&self) -> &[HeaderName] {
        &self.sent_headers
    }

    /// Reads the next chunk of the body, decoded when it is gzip, brotli or zstd (feature
    /// `decompress`, on by default); `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        let read = self.body.chunk(&self.url).await;
        // Errors reading the body of a redirected response say which hops came before.
        read.map_err(|e| e.with_history(|| self.history.clone()))
    }

    /// Reads the whole body, decoded when the `decompress` feature is on.
    pub async fn bytes(mut self) -> Result<Bytes> {
        self.read_all().await
    }

    /// Reads the whole body as text (invalid UTF-8 is replaced).
    pub async fn text(self) -> Result<String> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Reads the whole body and keeps the rest of the response in place (for bindings that
    /// hand metadata and body to another runtime together).
    pub async fn read_all(&mut self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

/// The body of a response: bytes put back, then the raw body or its decoding.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    buffered: Option<Bytes>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Raw(RawBody),
    #[cfg(feature = "decompress")]
    Decoded(crate::decode::Decoded),
    Done,
}

/// The body as it arrives, read with the read timeout and the total deadline.
#[derive(Debug)]
pub(crate) struct RawBody {
    incoming: RespBody,
    read_timeout: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
}

impl ResponseBody {
    pub(crate) fn new(
        incoming: RespBody,
        read_timeout: Option<Duration>,
        deadline: Option<(Instant, Duration)>,
    ) -> Self {
        ResponseBody {
            buffered: None,
            source: Source::Raw(RawBody {
                incoming,
                read_timeout,
                deadline,
            }),
        }
    }

    /// Decodes the rest of the body when `headers` name a coding hopsafe decodes; the
    /// response then says what the caller gets: `Content-Encoding` and the encoded
    /// `Content-Length` go (as reqwest and browsers do), so no layer above decodes twice.
    pub(crate) fn decode(&mut self, headers: &mut HeaderMap, url: &Url) {
        #[cfg(feature = "decompress")]
        if let (Some(coding), Source::Raw(_)) = (crate::decode::coding(headers), &self.source) {
            if let Source::Raw(raw) = std::mem::replace(&mut self.source, Source::Done) {
                let decoded = crate::decode::Decoded::new(coding, raw, url.clone());
                self.source = Source::Decoded(decoded);
                headers.remove(http::header::CONTENT_ENCODING);
                headers.remove(http::header::CONTENT_LENGTH);
            }
        }
        #[cfg(not(feature = "decompress"))]
        let _ = (headers, url);
    }

    /// Puts bytes already read back in front of the rest of the body.
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        debug_assert!(self.buffered.is_none());
        if !bytes.is_empty() {
            self.buffered = Some(bytes);
        }
    }

    /// The next bytes (decoded when the body is being decoded); `None` at the end.
    pub(crate) async fn chunk(&mut self, url: &Url) -> Result<Option<Bytes>> {
        if let Some(bytes) = self.buffered.take() {
            return Ok(Some(bytes));
        }
        let next = match &mut self.source {
            Source::Raw(raw) => raw.next(url).await,
            #[cfg(feature = "decompress")]
            Source::Decoded(d) => d.next().await,
            Source::Done => return Ok(None),
        };
        if matches!(next, Ok(None)) {
            self.source = Source::Done;
        }
        next
    }
}

impl RawBody {
    /// The next chunk as it arrived; `None` at the end.
    pub(crate) async fn next(&mut self, url: &Url) -> Result<Option<Bytes>> {
        let incoming = &mut self.incoming;
        loop {
            let mut wait = self.read_timeout.map(|d| (d, TimeoutPhase::Read));
            if let Some((at, total)) = self.deadline {
                let left = at.saturating_duration_since(Instant::now());
                if wait.is_none_or(|(d, _)| left < d) {
                    wait = Some((left, TimeoutPhase::Total));
                    if left.is_zero() {
                        return Err(timeout(url, TimeoutPhase::Total, total));
                    }
                }
            }
            let frame = match wait {
                None => incoming.frame().await,
                Some((d, phase)) => match tokio::time::timeout(d, incoming.frame()).await {
                    Ok(f) => f,
                    Err(_) => {
                        let after = match (phase, self.deadline) {
                            (TimeoutPhase::Total, Some((_, total))) => total,
                            _ => d,
                        };
                        return Err(timeout(url, phase, after));
                    }
                },
            };
            match frame {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(Error::Transport {
                        url: url.to_string(),
                        reason: crate::error::describe(&e),
                        source: Some(Box::new(e)),
                        history: Vec::new(),
                    })
                }
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

fn timeout(url: &Url, phase: TimeoutPhase, after: Duration) -> Error {
    Error::Timeout {
        url: url.to_string(),
        phase,
        after,
        history: Vec::new(),
    }
}
