//! Responses: status, headers, the redirect history that led to them, and the body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream};
use http::{HeaderMap, HeaderName, Method, StatusCode, Version};
use url::Url;

use crate::error::{Error, Result};
use crate::history::Hop;
use crate::raw_body::RawBody;
use crate::transport::RespBody;

/// The most `read_all` reserves up front from a `Content-Length` (past it the buffer grows as
/// the body arrives).
const PRESIZE_MAX: u64 = 16 << 20;

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
    pub(crate) sent_headers: SentHeaders,
    pub(crate) max_body_size: Option<u64>,
    pub(crate) body: ResponseBody,
}

/// The header names a response's request sent: the client's shared list when the request
/// sent just the base headers (no allocation per request), else its own.
#[derive(Debug)]
pub(crate) enum SentHeaders {
    Base(std::sync::Arc<[HeaderName]>),
    Own(Vec<HeaderName>),
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
        match &self.sent_headers {
            SentHeaders::Base(names) => names,
            SentHeaders::Own(names) => names,
        }
    }

    /// Reads the next chunk of the body, decoded when it is gzip, brotli or zstd (feature
    /// `decompress`, on by default); `None` at the end. Never capped by `max_body_size`: only
    /// this chunk is in memory, and the next is read from the network when you ask for it.
    ///
    /// Dropping the response before the end aborts the transfer (HTTP/1.1: the connection is
    /// closed; HTTP/2: the stream is reset). A connection goes back to the pool only after
    /// its body was read to the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        let read = self.body.chunk(&self.url).await;
        // Errors reading the body of a redirected response say which hops came before.
        read.map_err(|e| e.with_history(|| self.history.clone()))
    }

    /// Puts bytes read with [`Response::chunk`] back in front of the rest of the body: the
    /// next `chunk()` returns them first, and [`Response::read_all`] counts them against
    /// `max_body_size`. Lets a caller take what has already arrived without waiting (poll
    /// `chunk()` once) and give it back.
    pub fn unread(&mut self, bytes: Bytes) {
        self.body.unread(bytes);
    }

    /// The next chunk if it has already arrived, without waiting for the network: `None`
    /// when it has not (nothing is lost; read it later with [`Response::chunk`]). Lets a
    /// caller that hands the body to another thread take a small body that came with the
    /// head in the same trip. Await it on the runtime that runs the client: it gives the
    /// connection's task one turn to hand over what it has buffered.
    pub async fn arrived_chunk(&mut self) -> Option<Result<Option<Bytes>>> {
        if let Some(read) = self.chunk().now_or_never() {
            return Some(read);
        }
        tokio::task::yield_now().await;
        self.chunk().now_or_never()
    }

    /// The body as a [`Stream`] of [`Bytes`] chunks, as [`Response::chunk`] reads them: with
    /// backpressure (a chunk is read from the network only when the stream is polled), never
    /// capped by `max_body_size`, and dropping the stream before its end aborts the transfer.
    /// It ends after the first error. Take what you need of the status and headers first.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let url = format!("http://{}/", server.local_addr().unwrap());
    /// # std::thread::spawn(move || {
    /// #     use std::io::{Read, Write};
    /// #     let (mut s, _) = server.accept().unwrap();
    /// #     let _ = s.read(&mut [0u8; 4096]);
    /// #     s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world").unwrap();
    /// # });
    /// # hopsafe::runtime::block_on(async move {
    /// let client = hopsafe::Client::builder().max_body_size(Some(4)).build()?;
    /// let mut body = client.get(&url).send().await?.bytes_stream();
    /// let mut len = 0;
    /// while let Some(chunk) = body.next().await {
    ///     len += chunk?.len(); // one chunk in memory at a time, whatever max_body_size says
    /// }
    /// assert_eq!(len, 11);
    /// # Ok::<(), hopsafe::Error>(()) }).unwrap();
    /// ```
    pub fn bytes_stream(self) -> BytesStream {
        let chunks = futures_util::stream::unfold(Some(self), |state| async move {
            let mut resp = state?;
            match resp.chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some(resp))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        BytesStream {
            inner: Box::pin(chunks),
        }
    }

    /// Reads the whole body, decoded when the `decompress` feature is on. Fails with
    /// [`Error::ResponseTooLarge`] past the client's `max_body_size`.
    // An `async` block, not an `async fn`: an `async fn` holds its arguments twice in its
    // state (the response is most of it), and moves both when it starts.
    #[allow(clippy::manual_async_fn)]
    pub fn bytes(mut self) -> impl Future<Output = Result<Bytes>> + Send {
        async move { self.read_all().await }
    }

    /// Reads the whole body as text (invalid UTF-8 is replaced); capped like
    /// [`Response::bytes`].
    #[allow(clippy::manual_async_fn)]
    pub fn text(mut self) -> impl Future<Output = Result<String>> + Send {
        async move {
            let bytes = self.read_all().await?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
    }

    /// Reads the rest of the body and keeps the rest of the response in place (for bindings
    /// that hand metadata and body to another runtime together); capped like
    /// [`Response::bytes`].
    pub async fn read_all(&mut self) -> Result<Bytes> {
        let limit = self.max_body_size;
        if let Some(limit) = limit {
            if self.plain_content_length().is_some_and(|len| len > limit) {
                return Err(self.too_large(limit));
            }
        }
        // A body that arrives in one chunk is returned as it is, without a copy; a longer one
        // is gathered into one buffer sized from `Content-Length` (bounded, since a server can
        // announce more than it sends), so it is not copied again each time it grows. The
        // size is looked up only then: most bodies come in one chunk.
        let presize = |resp: &Self| {
            resp.plain_content_length()
                .map_or(0, |n| usize::try_from(n.min(PRESIZE_MAX)).unwrap_or(0))
        };
        let mut first: Option<Bytes> = None;
        let mut out = BytesMut::new();
        let mut total = 0u64;
        while let Some(chunk) = self.chunk().await? {
            total += chunk.len() as u64;
            if let Some(limit) = limit.filter(|&l| total > l) {
                return Err(self.too_large(limit));
            }
            if let Some(f) = first.take() {
                out.reserve(presize(self).max(f.len() + chunk.len()));
                out.extend_from_slice(&f);
                out.extend_from_slice(&chunk);
            } else if out.is_empty() {
                first = Some(chunk);
            } else {
                out.extend_from_slice(&chunk);
            }
        }
        Ok(first.unwrap_or_else(|| out.freeze()))
    }

    /// How many bytes of the body are left to read, when that is known before reading them:
    /// the rest of a `Content-Length` body read as sent (bytes put back included); `None` for a
    /// decoded or chunked body. Lets a caller allocate the destination of
    /// [`Response::chunk`]s itself.
    pub fn remaining_length(&self) -> Option<u64> {
        self.body.remaining_length()
    }

    /// The client's `max_body_size`: the cap of [`Response::read_all`] (`None`: no cap).
    pub fn max_body_size(&self) -> Option<u64> {
        self.max_body_size
    }

    /// `Content-Length` when the body is read as sent (not decoded).
    fn plain_content_length(&self) -> Option<u64> {
        if self.headers.contains_key(http::header::CONTENT_ENCODING) {
            return None;
        }
        let v = self.headers.get(http::header::CONTENT_LENGTH)?;
        v.to_str().ok()?.parse().ok()
    }

    fn too_large(&self, limit: u64) -> Error {
        Error::ResponseTooLarge {
            url: self.url.to_string(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            reason: "max_body_size caps bodies read whole; read it as a stream instead".into(),
            history: self.history.clone(),
        }
    }
}

/// The body of a [`Response`] as a [`Stream`] of decoded [`Bytes`] chunks
/// ([`Response::bytes_stream`]).
pub struct BytesStream {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
}

impl Stream for BytesStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for BytesStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BytesStream").finish_non_exhaustive()
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

impl ResponseBody {
    pub(crate) fn new(
        incoming: RespBody,
        read_timeout: Option<Duration>,
        deadline: Option<(Instant, Duration)>,
    ) -> Self {
        ResponseBody {
            buffered: None,
            source: Source::Raw(RawBody::new(incoming, read_timeout, deadline)),
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

    /// Puts bytes already read back in front of the rest of the body (in front of bytes
    /// put back before, if any).
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.buffered = Some(match self.buffered.take() {
            Some(after) => [bytes, after].concat().into(),
            None => bytes,
        });
    }

    /// Bytes left: put back plus the rest of a `Content-Length` body read as sent.
    pub(crate) fn remaining_length(&self) -> Option<u64> {
        let rest = match &self.source {
            Source::Raw(raw) => raw.remaining_length()?,
            #[cfg(feature = "decompress")]
            Source::Decoded(_) => return None,
            Source::Done => 0,
        };
        Some(rest + self.buffered.as_ref().map_or(0, |b| b.len() as u64))
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
