//! The one error type of hopsafe, and the groups its variants belong to. Every binding maps
//! both, by name, to its own exception or error classes.
//!
//! The hierarchy, as every binding shows it (Python and Node name a class `<Variant>Error`,
//! Kotlin `<Variant>Exception`, Swift keeps the enum case and adds `group`):
//!
//! ```text
//! Error
//! ├── InvalidInput            the request or an option cannot be used as given
//! │   ├── InvalidUrl
//! │   ├── InvalidHeader
//! │   ├── InvalidMethod
//! │   ├── InvalidConfig
//! │   └── UnsupportedScheme    (a URL or a Location that is not http or https)
//! ├── Network                 no usable answer came back over the connection
//! │   ├── Connect
//! │   ├── Tls
//! │   ├── Timeout
//! │   └── Transport
//! ├── Redirect                the redirect chain breaks a rule
//! │   ├── TooManyRedirects
//! │   ├── RedirectLoop
//! │   ├── InsecureRedirect
//! │   ├── InvalidLocation
//! │   └── RedirectRejected
//! ├── Body                    the request or response body
//! │   ├── BodyNotReplayable
//! │   ├── BodyStream
//! │   └── ResponseTooLarge
//! ├── UpgradeRequired         (no group) the server refuses this SDK version
//! └── Cancelled               (no group) the caller cancelled
//! ```
//!
//! [`Error::HIERARCHY`] is this tree as data; the conformance crate's parity test checks every
//! binding against it.

use std::error::Error as StdError;
use std::time::Duration;

use crate::history::Hop;

/// Which deadline ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening the TCP connection.
    Connect,
    /// Waiting for response headers, or for the next chunk of a body.
    Read,
    /// The whole exchange: every redirect and retry together.
    Total,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::Read => "read",
            TimeoutPhase::Total => "total",
        })
    }
}

/// Everything that can go wrong, with the context a caller needs to act on it.
///
/// Variants that can happen once a request was sent carry the `history` of redirect hops
/// taken before it (empty on the first hop); [`Error::write_accepted`] reads it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request URL could not be parsed or is not absolute.
    #[error("invalid URL {input:?}: {reason}")]
    InvalidUrl { input: String, reason: String },

    /// A header name or value is not valid HTTP (for example it contains CR or LF).
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader { name: String, reason: String },

    /// The method is not a valid HTTP token.
    #[error("invalid method {method:?}")]
    InvalidMethod { method: String },

    /// A client option is invalid (trusted-origin pattern, CA PEM, retry policy...).
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },

    /// No connection could be opened (refused, unreachable, DNS): nothing was sent on this hop.
    /// Earlier hops may have been; see `history` and [`Error::write_accepted`].
    #[error("could not connect to {url}: {reason}")]
    Connect {
        url: String,
        reason: String,
        /// The underlying error (socket, TLS or HTTP protocol), when there is one.
        #[source]
        source: Option<BoxError>,
        history: Vec<Hop>,
    },

    /// The TLS handshake failed (untrusted certificate, wrong name, protocol).
    #[error("TLS handshake with {url} failed: {reason}")]
    Tls {
        url: String,
        reason: String,
        /// The underlying error (socket, TLS or HTTP protocol), when there is one.
        #[source]
        source: Option<BoxError>,
        history: Vec<Hop>,
    },

    /// A deadline passed.
    #[error("{phase} timeout after {after:?} on {url}")]
    Timeout {
        url: String,
        phase: TimeoutPhase,
        after: Duration,
        history: Vec<Hop>,
    },

    /// The connection failed after the request may have been sent (reset, closed early,
    /// protocol error). The server may have processed it.
    #[error("connection to {url} failed: {reason}")]
    Transport {
        url: String,
        reason: String,
        /// The underlying error (socket, TLS or HTTP protocol), when there is one.
        #[source]
        source: Option<BoxError>,
        history: Vec<Hop>,
    },

    /// The chain was longer than the configured maximum.
    #[error("more than {max} redirects (last to {url})")]
    TooManyRedirects {
        max: u32,
        url: String,
        history: Vec<Hop>,
    },

    /// A redirect pointed back to a request already made in this chain.
    #[error("redirect loop: {method} {url} was already requested in this chain")]
    RedirectLoop {
        method: String,
        url: String,
        history: Vec<Hop>,
    },

    /// An https URL redirected to http and downgrades are not allowed.
    #[error("refusing redirect from {from} to {to}: https to http downgrade")]
    InsecureRedirect {
        from: String,
        to: String,
        history: Vec<Hop>,
    },

    /// A URL or `Location` uses a scheme other than http or https.
    #[error("unsupported scheme {scheme:?} in {url}")]
    UnsupportedScheme {
        scheme: String,
        url: String,
        history: Vec<Hop>,
    },

    /// A `Location` header that cannot be followed (empty, too long, unparseable).
    #[error("invalid Location {location:?} on {url}: {reason}")]
    InvalidLocation {
        location: String,
        url: String,
        reason: String,
        history: Vec<Hop>,
    },

    /// A 307/308 asks for the body again, but the body was a stream larger than the replay
    /// buffer. The redirect response is in the last hop of `history`.
    #[error("cannot follow {status} to {location}: the streamed body exceeded the {limit}-byte replay buffer")]
    BodyNotReplayable {
        status: u16,
        location: String,
        limit: usize,
        history: Vec<Hop>,
    },

    /// Reading the caller's body stream failed.
    #[error("reading the request body failed: {reason}")]
    BodyStream { reason: String, history: Vec<Hop> },

    /// The response body was larger than a limit: the client's `max_body_size` for a body
    /// read whole, or the decompression-bomb guard (`reason` says which).
    #[error("response body from {url} is larger than {limit} bytes: {reason}")]
    ResponseTooLarge {
        url: String,
        limit: usize,
        reason: String,
        history: Vec<Hop>,
    },

    /// The redirect policy hook refused a hop.
    #[error("redirect to {url} rejected by policy: {reason}")]
    RedirectRejected {
        url: String,
        reason: String,
        history: Vec<Hop>,
    },

    /// The server refused this SDK version (426 with a hopsafe problem+json body).
    #[error("server requires {sdk} >= {minimum_version}, this is {current_version}")]
    UpgradeRequired {
        sdk: String,
        minimum_version: String,
        current_version: String,
        url: String,
        history: Vec<Hop>,
    },

    /// The request was cancelled by the caller.
    #[error("request cancelled")]
    Cancelled,
}

/// The group an [`Error`] belongs to: what a caller usually branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorGroup {
    /// The request or an option cannot be used as given (a bug to fix, never worth a retry).
    InvalidInput,
    /// No usable answer came back over the connection (the server may or may not have
    /// processed the request: see [`Error::write_accepted`] and the variant).
    Network,
    /// The redirect chain breaks a rule (length, loop, downgrade, `Location`, your hook).
    Redirect,
    /// The request body could not be sent again or read, or the response body is too large.
    Body,
}

impl ErrorGroup {
    /// Every group, in the order of the hierarchy.
    pub const ALL: &'static [ErrorGroup] = &[
        ErrorGroup::InvalidInput,
        ErrorGroup::Network,
        ErrorGroup::Redirect,
        ErrorGroup::Body,
    ];

    /// The group's name, from which every binding derives its class name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorGroup::InvalidInput => "InvalidInput",
            ErrorGroup::Network => "Network",
            ErrorGroup::Redirect => "Redirect",
            ErrorGroup::Body => "Body",
        }
    }
}

impl std::fmt::Display for ErrorGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// The group of this error (`None` for [`Error::UpgradeRequired`] and
    /// [`Error::Cancelled`], which stand alone).
    pub fn group(&self) -> Option<ErrorGroup> {
        let name = self.name();
        Error::HIERARCHY
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, g)| *g)
    }

    /// The variant's name; every binding derives its class (or case) name from it.
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidUrl { .. } => "InvalidUrl",
            Error::InvalidHeader { .. } => "InvalidHeader",
            Error::InvalidMethod { .. } => "InvalidMethod",
            Error::InvalidConfig { .. } => "InvalidConfig",
            Error::Connect { .. } => "Connect",
            Error::Tls { .. } => "Tls",
            Error::Timeout { .. } => "Timeout",
            Error::Transport { .. } => "Transport",
            Error::TooManyRedirects { .. } => "TooManyRedirects",
            Error::RedirectLoop { .. } => "RedirectLoop",
            Error::InsecureRedirect { .. } => "InsecureRedirect",
            Error::UnsupportedScheme { .. } => "UnsupportedScheme",
            Error::InvalidLocation { .. } => "InvalidLocation",
            Error::BodyNotReplayable { .. } => "BodyNotReplayable",
            Error::BodyStream { .. } => "BodyStream",
            Error::ResponseTooLarge { .. } => "ResponseTooLarge",
            Error::RedirectRejected { .. } => "RedirectRejected",
            Error::UpgradeRequired { .. } => "UpgradeRequired",
            Error::Cancelled => "Cancelled",
        }
    }

    /// The URL the error is about, when there is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::InvalidUrl { input, .. } => Some(input),
            Error::Connect { url, .. }
            | Error::Tls { url, .. }
            | Error::Timeout { url, .. }
            | Error::Transport { url, .. }
            | Error::TooManyRedirects { url, .. }
            | Error::RedirectLoop { url, .. }
            | Error::UnsupportedScheme { url, .. }
            | Error::InvalidLocation { url, .. }
            | Error::ResponseTooLarge { url, .. }
            | Error::RedirectRejected { url, .. }
            | Error::UpgradeRequired { url, .. } => Some(url),
            Error::InsecureRedirect { to, .. } => Some(to),
            Error::BodyNotReplayable { location, .. } => Some(location),
            _ => None,
        }
    }

    /// The redirect hops taken before the error, oldest first (empty when none).
    pub fn history(&self) -> &[Hop] {
        match self {
            Error::Connect { history, .. }
            | Error::Tls { history, .. }
            | Error::Timeout { history, .. }
            | Error::Transport { history, .. }
            | Error::TooManyRedirects { history, .. }
            | Error::RedirectLoop { history, .. }
            | Error::InsecureRedirect { history, .. }
            | Error::UnsupportedScheme { history, .. }
            | Error::InvalidLocation { history, .. }
            | Error::BodyNotReplayable { history, .. }
            | Error::BodyStream { history, .. }
            | Error::ResponseTooLarge { history, .. }
            | Error::RedirectRejected { history, .. }
            | Error::UpgradeRequired { history, .. } => history,
            _ => &[],
        }
    }

    /// Whether a server already accepted a write before this error: a hop in the history
    /// turned the method into GET (a 303, or a 301/302 answering a POST), which a server does
    /// after processing the write. Sending the original request again may apply it twice.
    pub fn write_accepted(&self) -> bool {
        self.history().iter().any(Hop::accepted_write)
    }

    /// This error with the hops taken before it, unless it already carries its own.
    pub(crate) fn with_history(mut self, hops: impl FnOnce() -> Vec<Hop>) -> Self {
        if self.history().is_empty() {
            self.set_history(hops());
        }
        self
    }

    fn set_history(&mut self, hops: Vec<Hop>) {
        match self {
            Error::Connect { history, .. }
            | Error::Tls { history, .. }
            | Error::Timeout { history, .. }
            | Error::Transport { history, .. }
            | Error::TooManyRedirects { history, .. }
            | Error::RedirectLoop { history, .. }
            | Error::InsecureRedirect { history, .. }
            | Error::UnsupportedScheme { history, .. }
            | Error::InvalidLocation { history, .. }
            | Error::BodyNotReplayable { history, .. }
            | Error::BodyStream { history, .. }
            | Error::ResponseTooLarge { history, .. }
            | Error::RedirectRejected { history, .. }
            | Error::UpgradeRequired { history, .. } => *history = hops,
            _ => {}
        }
    }

    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }
}

/// An underlying error kept as the [`source`](StdError::source) of a connect, TLS or
/// transport failure.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A one-line description of an error and its causes.
pub(crate) fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// `Result` with hopsafe's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Every variant's [`name`](Error::name) and [`group`](Error::group), in declaration
    /// order: the hierarchy each binding's error classes must match (checked by the
    /// conformance crate's parity test). The one place groups are defined.
    pub const HIERARCHY: &'static [(&'static str, Option<ErrorGroup>)] = &[
        ("InvalidUrl", Some(ErrorGroup::InvalidInput)),
        ("InvalidHeader", Some(ErrorGroup::InvalidInput)),
        ("InvalidMethod", Some(ErrorGroup::InvalidInput)),
        ("InvalidConfig", Some(ErrorGroup::InvalidInput)),
        ("Connect", Some(ErrorGroup::Network)),
        ("Tls", Some(ErrorGroup::Network)),
        ("Timeout", Some(ErrorGroup::Network)),
        ("Transport", Some(ErrorGroup::Network)),
        ("TooManyRedirects", Some(ErrorGroup::Redirect)),
        ("RedirectLoop", Some(ErrorGroup::Redirect)),
        ("InsecureRedirect", Some(ErrorGroup::Redirect)),
        ("UnsupportedScheme", Some(ErrorGroup::InvalidInput)),
        ("InvalidLocation", Some(ErrorGroup::Redirect)),
        ("BodyNotReplayable", Some(ErrorGroup::Body)),
        ("BodyStream", Some(ErrorGroup::Body)),
        ("ResponseTooLarge", Some(ErrorGroup::Body)),
        ("RedirectRejected", Some(ErrorGroup::Redirect)),
        ("UpgradeRequired", None),
        ("Cancelled", None),
    ];

    /// Every variant's [`name`](Error::name), in declaration order (the names of
    /// [`Error::HIERARCHY`]).
    pub const NAMES: &'static [&'static str] = &[
        "InvalidUrl",
        "InvalidHeader",
        "InvalidMethod",
        "InvalidConfig",
        "Connect",
        "Tls",
        "Timeout",
        "Transport",
        "TooManyRedirects",
        "RedirectLoop",
        "InsecureRedirect",
        "UnsupportedScheme",
        "InvalidLocation",
        "BodyNotReplayable",
        "BodyStream",
        "ResponseTooLarge",
        "RedirectRejected",
        "UpgradeRequired",
        "Cancelled",
    ];
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn names_lists_every_variant_in_order() {
        let (s, h) = (String::new, Vec::new);
        let t = TimeoutPhase::Read;
        let all = [
            Error::InvalidUrl {
                input: s(),
                reason: s(),
            },
            Error::InvalidHeader {
                name: s(),
                reason: s(),
            },
            Error::InvalidMethod { method: s() },
            Error::InvalidConfig { reason: s() },
            Error::Connect {
                url: s(),
                reason: s(),
                source: None,
                history: h(),
            },
            Error::Tls {
                url: s(),
                reason: s(),
                source: None,
                history: h(),
            },
            Error::Timeout {
                url: s(),
                phase: t,
                after: Duration::ZERO,
                history: h(),
            },
            Error::Transport {
                url: s(),
                reason: s(),
                source: None,
                history: h(),
            },
            Error::TooManyRedirects {
                max: 0,
                url: s(),
                history: h(),
            },
            Error::RedirectLoop {
                method: s(),
                url: s(),
                history: h(),
            },
            Error::InsecureRedirect {
                from: s(),
                to: s(),
                history: h(),
            },
            Error::UnsupportedScheme {
                scheme: s(),
                url: s(),
                history: h(),
            },
            Error::InvalidLocation {
                location: s(),
                url: s(),
                reason: s(),
                history: h(),
            },
            Error::BodyNotReplayable {
                status: 307,
                location: s(),
                limit: 0,
                history: h(),
            },
            Error::BodyStream {
                reason: s(),
                history: h(),
            },
            Error::ResponseTooLarge {
                url: s(),
                limit: 0,
                reason: s(),
                history: h(),
            },
            Error::RedirectRejected {
                url: s(),
                reason: s(),
                history: h(),
            },
            Error::UpgradeRequired {
                sdk: s(),
                minimum_version: s(),
                current_version: s(),
                url: s(),
                history: h(),
            },
            Error::Cancelled,
        ];
        let names: Vec<_> = all.iter().map(Error::name).collect();
        assert_eq!(names, Error::NAMES);
        let hierarchy: Vec<_> = Error::HIERARCHY.iter().map(|(n, _)| *n).collect();
        assert_eq!(hierarchy, Error::NAMES);
    }

    #[test]
    fn every_group_has_members_and_errors_know_their_group() {
        for g in ErrorGroup::ALL {
            assert!(Error::HIERARCHY.iter().any(|(_, h)| *h == Some(*g)), "{g}");
        }
        let connect = Error::Connect {
            url: String::new(),
            reason: String::new(),
            source: None,
            history: Vec::new(),
        };
        assert_eq!(connect.group(), Some(ErrorGroup::Network));
        assert_eq!(
            Error::invalid_config("x").group(),
            Some(ErrorGroup::InvalidInput)
        );
        assert_eq!(Error::Cancelled.group(), None);
        assert_eq!(ErrorGroup::Redirect.to_string(), "Redirect");
    }
}
