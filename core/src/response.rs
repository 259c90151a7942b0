//! Responses and the redirect history that led to them.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, Method, StatusCode, Version};
use http_body_util::BodyExt;
use url::Url;

use crate::error::{Error, Result, TimeoutPhase};

/// Why a header was not sent on the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A credential (or `Host`) removed because the hop crossed origins.
    CrossOrigin,
    /// A body header or the idempotency key removed because the method became GET.
    MethodChanged,
}

impl DropReason {
    /// A stable lower-case name (`cross-origin`, `method-changed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::CrossOrigin => "cross-origin",
            DropReason::MethodChanged => "method-changed",
        }
    }
}

/// A header removed on the way to the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedHeader {
    /// Lower-case header name.
    pub name: String,
    /// Why it went.
    pub reason: DropReason,
}

/// One redirect: the request that was sent and the 3xx that answered it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Hop {
    /// Method sent.
    pub method: Method,
    /// URL requested.
    pub url: Url,
    /// The redirect status.
    pub status: StatusCode,
    /// The `Location` as received (lossy UTF-8), if any.
    pub location: Option<String>,
    /// Names of the headers sent (values are not kept, so secrets never reach logs).
    pub sent_headers: Vec<HeaderName>,
    /// Body bytes sent, when known (streams report the bytes buffered).
    pub body_len: Option<u64>,
    /// The idempotency key sent with this hop.
    pub idempotency_key: Option<String>,
    /// Headers removed before the next hop, and why.
    pub dropped: Vec<DroppedHeader>,
    /// Attempts made for this hop (1 without retries).
    pub attempts: u32,
    /// Time from sending the request to receiving the response headers.
    pub elapsed: Duration,
}

impl Hop {
    /// Whether this redirect says the server accepted a write: it turned the method into GET
    /// (a 303 answering anything but GET/HEAD, or a 301/302 answering a POST).
    pub fn accepted_write(&self) -> bool {
        crate::redirect::method_after_redirect(self.status, &self.method) != self.method
    }
}

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

    /// Reads the next raw chunk of the body (not decompressed); `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        let read = self.body.chunk(&self.url).await;
        read.map_err(|e| self.with_history(e))
    }

    /// `e` with this response's redirect history (errors reading the body of a redirected
    /// response say which hops came before, and whether a write was accepted).
    fn with_history(&self, mut e: Error) -> Error {
        if e.history().is_empty() {
            e.set_history(self.history.clone());
        }
        e
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
        crate::decode::decode(&self.headers, out.freeze(), &self.url)
            .map_err(|e| self.with_history(e))
    }
}

/// The body of a response, read with the read timeout and the total deadline.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    buffered: Option<Bytes>,
    incoming: Option<hyper::body::Incoming>,
    read_timeout: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
}

impl ResponseBody {
    pub(crate) fn new(
        incoming: hyper::body::Incoming,
        read_timeout: Option<Duration>,
        deadline: Option<(Instant, Duration)>,
    ) -> Self {
        ResponseBody {
            buffered: None,
            incoming: Some(incoming),
            read_timeout,
            deadline,
        }
    }

    /// Puts bytes already read back in front of the rest of the body.
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        debug_assert!(self.buffered.is_none());
        if !bytes.is_empty() {
            self.buffered = Some(bytes);
        }
    }

    pub(crate) async fn chunk(&mut self, url: &Url) -> Result<Option<Bytes>> {
        if let Some(bytes) = self.buffered.take() {
            return Ok(Some(bytes));
        }
        let Some(incoming) = self.incoming.as_mut() else {
            return Ok(None);
        };
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
                None => {
                    self.incoming = None;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    return Err(Error::Transport {
                        url: url.to_string(),
                        reason: crate::transport::describe(&e),
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
