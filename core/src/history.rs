//! The record of a redirect chain: each hop, and the headers removed on the way and why.
//! Plain data: errors and responses carry it, the engine writes it.

use std::time::Duration;

use http::{HeaderName, Method, StatusCode};
use url::Url;

/// Why a header was not sent on the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
