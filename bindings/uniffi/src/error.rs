//! `HopsafeError`: the core's error, variant for variant. Kotlin: the sealed `HopsafeException`
//! with `<variant>Exception` classes under the core's groups (uniffi.toml renames them, the
//! bindgen groups them, `Errors.kt` declares the groups); Swift: `enum HopsafeError` plus
//! `group` (`Errors.swift`).

use crate::types::{history, Hop};

/// Which deadline of a `Timeout` ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TimeoutPhase {
    /// Opening the connection.
    Connect,
    /// Waiting for response headers, or for the next chunk of a body.
    Read,
    /// The whole call: every redirect and retry together.
    Total,
}

impl From<hopsafe::TimeoutPhase> for TimeoutPhase {
    fn from(p: hopsafe::TimeoutPhase) -> Self {
        match p {
            hopsafe::TimeoutPhase::Connect => TimeoutPhase::Connect,
            hopsafe::TimeoutPhase::Read => TimeoutPhase::Read,
            hopsafe::TimeoutPhase::Total => TimeoutPhase::Total,
        }
    }
}

/// Everything that can go wrong, one case per core error, grouped as the core groups them
/// (invalid input, network, redirect, body; upgrade-required and cancelled stand alone). Each
/// carries `detail` (the message), `url` (the URL it is about, if any), `history` (the
/// redirect hops taken before it; empty when none) and `write_accepted` (a hop turned the
/// write into a GET: the server accepted it before the error, so do not blindly send it
/// again).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HopsafeError {
    /// The request URL could not be parsed or is not absolute.
    #[error("{detail}")]
    InvalidUrl {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A header name or value is not valid HTTP (for example it contains CR or LF).
    #[error("{detail}")]
    InvalidHeader {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The method is not a valid HTTP token.
    #[error("{detail}")]
    InvalidMethod {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A client option is invalid (trusted-origin pattern, CA PEM, retry policy...).
    #[error("{detail}")]
    InvalidConfig {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// No connection could be opened: nothing was sent on this hop (earlier hops may have
    /// been: see `history` and `write_accepted`).
    #[error("{detail}")]
    Connect {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The TLS handshake failed.
    #[error("{detail}")]
    Tls {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A connect, read or total deadline passed (`phase`), after `after_ms` milliseconds.
    #[error("{detail}")]
    Timeout {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
        phase: TimeoutPhase,
        after_ms: u64,
    },
    /// The connection failed after the request may have been sent.
    #[error("{detail}")]
    Transport {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The chain was longer than the configured maximum.
    #[error("{detail}")]
    TooManyRedirects {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A redirect pointed back to a request already made in this chain.
    #[error("{detail}")]
    RedirectLoop {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// An https URL redirected to http and downgrades are not allowed.
    #[error("{detail}")]
    InsecureRedirect {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A URL or `Location` uses a scheme other than http or https.
    #[error("{detail}")]
    UnsupportedScheme {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A `Location` header that cannot be followed.
    #[error("{detail}")]
    InvalidLocation {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// A 307/308 needs the body again but it was larger than the replay buffer.
    #[error("{detail}")]
    BodyNotReplayable {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// Reading the request body failed.
    #[error("{detail}")]
    BodyStream {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The response body was larger than the limit.
    #[error("{detail}")]
    ResponseTooLarge {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The redirect policy refused a hop.
    #[error("{detail}")]
    RedirectRejected {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
    },
    /// The server refused this SDK version (426 with a hopsafe problem body): `sdk` must be
    /// at least `minimum_version`; this app sent `current_version`.
    #[error("{detail}")]
    UpgradeRequired {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
        sdk: String,
        minimum_version: String,
        current_version: String,
    },
    /// The request was cancelled (`CancelHandle.cancel`, or the caller's coroutine/task).
    #[error("{detail}")]
    Cancelled {
        detail: String,
        url: Option<String>,
        history: Vec<Hop>,
        write_accepted: bool,
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
        let write_accepted = e.write_accepted();
        match e {
            hopsafe::Error::Timeout { phase, after, .. } => {
                return HopsafeError::Timeout {
                    detail,
                    url,
                    history,
                    write_accepted,
                    phase: phase.into(),
                    after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
                }
            }
            hopsafe::Error::UpgradeRequired {
                sdk,
                minimum_version,
                current_version,
                ..
            } => {
                return HopsafeError::UpgradeRequired {
                    detail,
                    url,
                    history,
                    write_accepted,
                    sdk,
                    minimum_version,
                    current_version,
                }
            }
            _ => {}
        }
        macro_rules! by_name {
            ($($v:ident),*) => {
                match e.name() {
                    $(stringify!($v) => HopsafeError::$v { detail, url, history, write_accepted },)*
                    // The core's enum is non-exhaustive: a new variant still arrives typed
                    // (as a transport failure) with its message, never as a panic.
                    _ => HopsafeError::Transport { detail, url, history, write_accepted },
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
            write_accepted: false,
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

    #[test]
    fn timeout_keeps_its_phase_and_upgrade_its_versions() {
        let timeout = HopsafeError::from(hopsafe::Error::Timeout {
            url: "http://a/".into(),
            phase: hopsafe::TimeoutPhase::Connect,
            after: std::time::Duration::from_millis(1500),
            history: Vec::new(),
        });
        match timeout {
            HopsafeError::Timeout {
                phase,
                after_ms,
                write_accepted,
                ..
            } => {
                assert_eq!(phase, TimeoutPhase::Connect);
                assert_eq!(after_ms, 1500);
                assert!(!write_accepted);
            }
            other => panic!("{other:?}"),
        }
        let refused = HopsafeError::from(hopsafe::Error::UpgradeRequired {
            sdk: "acme-ios".into(),
            minimum_version: "2.0.0".into(),
            current_version: "1.9.0".into(),
            url: "https://a/v1".into(),
            history: Vec::new(),
        });
        match refused {
            HopsafeError::UpgradeRequired {
                sdk,
                minimum_version,
                current_version,
                url,
                ..
            } => {
                assert_eq!(
                    (
                        sdk.as_str(),
                        minimum_version.as_str(),
                        current_version.as_str()
                    ),
                    ("acme-ios", "2.0.0", "1.9.0")
                );
                assert_eq!(url.as_deref(), Some("https://a/v1"));
            }
            other => panic!("{other:?}"),
        }
    }
}
