//! Request, response and redirect-history records, and their translation from the core.

use hopsafe::{KeyChoice, Request, Response};

use crate::blob::Blob;
use crate::error::HopsafeError;

/// One header field.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Header {
    /// Field name (responses give it in lower case).
    pub name: String,
    /// Field value (lossy UTF-8 for responses).
    pub value: String,
}

/// The idempotency key of one request.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum IdempotencyKey {
    /// Follow the client configuration (a key for POST and PATCH by default).
    Auto,
    /// Send no key.
    Off,
    /// Generate a key even if the method would not get one.
    Generate,
    /// Send this key.
    Use {
        /// The key, printable ASCII.
        key: String,
    },
}

/// An HTTP request.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Absolute http or https URL.
    pub url: String,
    /// Header fields, in order (duplicates allowed).
    #[uniffi(default)]
    pub headers: Vec<Header>,
    /// Body bytes; `null`/`nil` = no body.
    #[uniffi(default)]
    pub body: Option<Blob>,
    /// Idempotency key choice; `null`/`nil` = `Auto`.
    #[uniffi(default)]
    pub idempotency_key: Option<IdempotencyKey>,
    /// Follow redirects (client default when `null`/`nil`).
    #[uniffi(default)]
    pub follow_redirects: Option<bool>,
    /// Maximum redirects, 0 = never follow (client default when `null`/`nil`).
    #[uniffi(default)]
    pub max_redirects: Option<u32>,
    /// Total deadline in ms for this request (client default when `null`/`nil`).
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
    /// Retry policy for this request (client default when `null`/`nil`).
    #[uniffi(default)]
    pub retry: Option<crate::config::RetryConfig>,
}

impl HttpRequest {
    /// Validates the input into a core request.
    pub(crate) fn into_core(self) -> Result<Request, HopsafeError> {
        let mut req = Request::parse(&self.method, &self.url)?;
        for h in &self.headers {
            req.append_header(&h.name, &h.value)?;
        }
        if let Some(body) = self.body {
            req.body = body.0.into();
        }
        let o = &mut req.options;
        o.follow_redirects = self.follow_redirects;
        o.max_redirects = self.max_redirects;
        o.timeout = self.timeout_ms.map(std::time::Duration::from_millis);
        o.retry = self.retry.map(Into::into);
        o.idempotency_key = match self.idempotency_key {
            None | Some(IdempotencyKey::Auto) => KeyChoice::Auto,
            Some(IdempotencyKey::Off) => KeyChoice::Off,
            Some(IdempotencyKey::Generate) => KeyChoice::Generate,
            Some(IdempotencyKey::Use { key }) => KeyChoice::Use(key),
        };
        Ok(req)
    }
}

/// Why a header was not sent on the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DropReason {
    /// A credential removed because the hop crossed origins.
    CrossOrigin,
    /// A body header or the idempotency key removed because the method became GET.
    MethodChanged,
}

/// A header removed on the way to the next hop.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DroppedHeader {
    /// Lower-case header name.
    pub name: String,
    /// Why it went.
    pub reason: DropReason,
}

/// One redirect: the request that was sent and the 3xx that answered it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Hop {
    /// Method sent.
    pub method: String,
    /// URL requested.
    pub url: String,
    /// The redirect status.
    pub status: u16,
    /// The `Location` as received, if any.
    pub location: Option<String>,
    /// Names of the headers sent (values are not kept).
    pub sent_headers: Vec<String>,
    /// Body bytes sent, when known.
    pub body_len: Option<u64>,
    /// The idempotency key sent with this hop.
    pub idempotency_key: Option<String>,
    /// Headers removed before the next hop, and why.
    pub dropped: Vec<DroppedHeader>,
    /// Attempts made for this hop.
    pub attempts: u32,
    /// Milliseconds from sending the request to receiving the response headers.
    pub elapsed_ms: u64,
}

impl From<&hopsafe::Hop> for Hop {
    fn from(h: &hopsafe::Hop) -> Self {
        Hop {
            method: h.method.to_string(),
            url: h.url.to_string(),
            status: h.status.as_u16(),
            location: h.location.clone(),
            sent_headers: h.sent_headers.iter().map(ToString::to_string).collect(),
            body_len: h.body_len,
            idempotency_key: h.idempotency_key.clone(),
            dropped: h
                .dropped
                .iter()
                .map(|d| DroppedHeader {
                    name: d.name.clone(),
                    reason: match d.reason {
                        hopsafe::DropReason::CrossOrigin => DropReason::CrossOrigin,
                        hopsafe::DropReason::MethodChanged => DropReason::MethodChanged,
                    },
                })
                .collect(),
            attempts: h.attempts,
            elapsed_ms: u64::try_from(h.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Converts a core history.
pub(crate) fn history(hops: &[hopsafe::Hop]) -> Vec<Hop> {
    hops.iter().map(Hop::from).collect()
}

/// Converts response headers (values as lossy UTF-8).
pub(crate) fn headers(map: &hopsafe::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(n, v)| Header {
            name: n.as_str().to_owned(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect()
}

/// A response after every redirect was followed, with its whole body.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The final URL (after redirects).
    pub url: String,
    /// The method of the final request.
    pub method: String,
    /// Response header fields, in order.
    pub headers: Vec<Header>,
    /// The body.
    pub body: Blob,
    /// Every redirect followed, oldest first.
    pub history: Vec<Hop>,
    /// The idempotency key the final request carried, if any.
    pub idempotency_key: Option<String>,
    /// Attempts made for the final request (1 without retries).
    pub attempts: u32,
}

impl HttpResponse {
    /// Reads the whole body of a core response.
    pub(crate) async fn read(mut resp: Response) -> Result<Self, HopsafeError> {
        let body = resp.read_all().await?;
        // Takes the buffer over when the body was gathered into one (no copy).
        Ok(Self::head(&resp, Blob(Vec::from(body))))
    }

    /// `resp`'s status, headers and the rest, with `body`.
    pub(crate) fn head(resp: &Response, body: Blob) -> Self {
        HttpResponse {
            status: resp.status().as_u16(),
            url: resp.url().to_string(),
            method: resp.method().to_string(),
            headers: headers(resp.headers()),
            body,
            history: history(resp.history()),
            idempotency_key: resp.idempotency_key().map(str::to_owned),
            attempts: resp.attempts(),
        }
    }
}
