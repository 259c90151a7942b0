//! `HopsafeError`: the core's error, variant for variant (Kotlin: `HopsafeException`).

use crate::types::{history, Hop};

/// Everything that can go wrong. Variant names are the core's error names, shared by every
/// binding. Each carries `detail` (the message), `url` (the URL it is about, if any) and
/// `history` (the redirect hops taken before it; empty when none).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HopsafeError {
    /// The request URL could not be parsed or is not absolute.
    #[error("{detail}")]
    InvalidUrl {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A header name or value is not valid HTTP (for example it contains CR or LF).
    #[error("{detail}")]
    InvalidHeader {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The method is not a valid HTTP token.
    #[error("{detail}")]
    InvalidMethod {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A client option is invalid (trusted-origin pattern, CA PEM, retry policy...).
    #[error("{detail}")]
    InvalidConfig {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// No connection could be opened. Nothing was sent.
    #[error("{detail}")]
    Connect {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The TLS handshake failed.
    #[error("{detail}")]
    Tls {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A connect, read or total deadline passed.
    #[error("{detail}")]
    Timeout {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The connection failed after the request may have been sent.
    #[error("{detail}")]
    Transport {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The chain was longer than the configured maximum.
    #[error("{detail}")]
    TooManyRedirects {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A redirect pointed back to a request already made in this chain.
    #[error("{detail}")]
    RedirectLoop {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// An https URL redirected to http and downgrades are not allowed.
    #[error("{detail}")]
    InsecureRedirect {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A URL or `Location` uses a scheme other than http or https.
    #[error("{detail}")]
    UnsupportedScheme {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A `Location` header that cannot be followed.
    #[error("{detail}")]
    InvalidLocation {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// A 307/308 needs the body again but it was larger than the replay buffer.
    #[error("{detail}")]
    BodyNotReplayable {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// Reading the request body failed.
    #[error("{detail}")]
    BodyStream {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The response body was larger than the limit.
    #[error("{detail}")]
    ResponseTooLarge {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The redirect policy refused a hop.
    #[error("{detail}")]
    RedirectRejected {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The server refused this SDK version (426).
    #[error("{detail}")]
    UpgradeRequired {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
    /// The request was cancelled (`CancelHandle.cancel`, or the caller's coroutine/task).
    #[error("{detail}")]
    Cancelled {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
    },
}

impl HopsafeError {
    /// The `Cancelled` error of a request the caller cancelled.
    pub(crate) fn cancelled() -> Self {
        hopsafe::Error::Cancelled.into()
    }
}

impl From<hopsafe::Error> for HopsafeError {
    fn from(e: hopsafe::Error) -> Self {
        let detail = e.to_string();
        let url = e.url().map(str::to_owned);
        let history = history(e.history());
        macro_rules! by_name {
            ($($v:ident),*) => {
                match e.name() {
                    $(stringify!($v) => HopsafeError::$v { detail, url, history },)*
                    // The core's enum is non-exhaustive: a new variant still arrives typed
                    // (as a transport failure) with its message, never as a panic.
                    _ => HopsafeError::Transport { detail, url, history },
                }
            };
        }
        by_name!(
            InvalidUrl,
            InvalidHeader,
            InvalidMethod,
            InvalidConfig,
            Connect,
            Tls,
            Timeout,
            Transport,
            TooManyRedirects,
            RedirectLoop,
            InsecureRedirect,
            UnsupportedScheme,
            InvalidLocation,
            BodyNotReplayable,
            BodyStream,
            ResponseTooLarge,
            RedirectRejected,
            UpgradeRequired,
            Cancelled
        )
    }
}

/// A `BodySource` that threw something other than a `HopsafeError`: the upload is aborted.
impl From<uniffi::UnexpectedUniFFICallbackError> for HopsafeError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HopsafeError::BodyStream {
            detail: format!("reading the request body failed: {}", e.reason),
            url: None,
            history: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variant name, from the derived `Debug` (`Name { .. }`).
    fn name(e: &HopsafeError) -> String {
        format!("{e:?}")
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn core_errors_keep_their_names_and_messages() {
        let errors = [
            hopsafe::Request::parse("GET", "not a url").unwrap_err(),
            hopsafe::Request::parse("GE T", "http://x/").unwrap_err(),
            hopsafe::parse_header("x", "a\r\nb").unwrap_err(),
            hopsafe::Client::builder()
                .trust_origin("ftp://x")
                .build()
                .unwrap_err(),
            hopsafe::Error::Cancelled,
        ];
        for core in errors {
            let (core_name, message) = (core.name(), core.to_string());
            let ours = HopsafeError::from(core);
            assert_eq!(name(&ours), core_name);
            assert_eq!(ours.to_string(), message);
        }
    }
}
