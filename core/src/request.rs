//! Requests, per-request options, and validation of caller input.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

use crate::body::Body;
use crate::credentials::{is_default_sensitive, redact_userinfo};
use crate::error::{Error, Result};
use crate::idempotency::KeyChoice;
use crate::retry::RetryPolicy;

/// Options that override the client's defaults for one request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Follow redirects (client default when `None`).
    pub follow_redirects: Option<bool>,
    /// Maximum redirects; 0 means never follow (client default when `None`).
    pub max_redirects: Option<u32>,
    /// Idempotency key choice.
    pub idempotency_key: KeyChoice,
    /// Total deadline for redirects and retries together (client default when `None`).
    pub timeout: Option<Duration>,
    /// Retry policy (client default when `None`).
    pub retry: Option<RetryPolicy>,
}

/// An HTTP request.
#[derive(Debug)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute http(s) URL.
    pub url: Url,
    /// Header fields.
    pub headers: HeaderMap,
    /// Body.
    pub body: Body,
    /// Per-request options.
    pub options: RequestOptions,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::empty(),
            options: RequestOptions::default(),
        }
    }

    /// Parses method and URL: the usual entry point for bindings.
    pub fn parse(method: &str, url: &str) -> Result<Self> {
        Ok(Request::new(parse_method(method)?, parse_url(url)?))
    }

    /// Appends a header after validating it.
    pub fn append_header(&mut self, name: &str, value: &str) -> Result<()> {
        let (n, v) = parse_header(name, value)?;
        self.headers.append(n, v);
        Ok(())
    }
}

/// Parses an absolute http or https URL. Credentials in the URL are allowed (the engine
/// turns them into origin-scoped `Authorization: Basic`); errors never echo them.
pub fn parse_url(input: &str) -> Result<Url> {
    let trimmed = input.trim();
    if let Some(url) = same_origin_fast_path(trimmed) {
        return Ok(url);
    }
    let shown = || redact_userinfo(input).into_owned();
    let url = Url::parse(trimmed).map_err(|e| Error::InvalidUrl {
        input: shown(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
            url: shown(),
            history: Vec::new(),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidUrl {
            input: shown(),
            reason: "no host".into(),
        });
    }
    remember_origin(&url);
    Ok(url)
}

thread_local! {
    /// The origin (`scheme://host[:port]`, path `/`) of the last URL this thread parsed in
    /// full: the next URL written with the same origin text only has its path, query and
    /// fragment parsed (most calls go to the origin of the one before).
    static LAST_ORIGIN: std::cell::RefCell<Option<Url>> = const { std::cell::RefCell::new(None) };
}

/// `input` parsed against the last origin when it starts with that origin's serialization
/// followed by a path: the WHATWG parser resolves such a path-absolute reference with the
/// base's scheme, host and port, which is what parsing the whole string gives, since a
/// serialized origin parses back to itself. `None` (parse in full) for anything else,
/// including `//` or `/\` after the origin (an authority) and tabs or newlines (which the
/// parser removes, so they could make one).
fn same_origin_fast_path(input: &str) -> Option<Url> {
    LAST_ORIGIN.with_borrow(|last| {
        let base = last.as_ref()?;
        let rest = input.strip_prefix(&base[..url::Position::BeforePath])?;
        let after = rest.strip_prefix('/')?;
        if after.starts_with(['/', '\\']) || rest.contains(['\t', '\n', '\r']) {
            return None;
        }
        base.join(rest).ok()
    })
}

/// Keeps the origin of a URL parsed in full for [`same_origin_fast_path`] (never its
/// credentials, path or query: only URLs without credentials are kept, and only their origin).
fn remember_origin(url: &Url) {
    if !url.username().is_empty() || url.password().is_some() {
        return;
    }
    LAST_ORIGIN.with_borrow_mut(|last| {
        let origin = &url[..url::Position::BeforePath];
        if last
            .as_ref()
            .is_some_and(|l| &l[..url::Position::BeforePath] == origin)
        {
            return;
        }
        let mut base = url.clone();
        base.set_fragment(None);
        base.set_query(None);
        base.set_path("/");
        *last = Some(base);
    })
}

/// Parses a method token (case is kept: `get` is not `GET`, as in RFC 9110; bindings
/// upper-case the standard names first).
pub fn parse_method(method: &str) -> Result<Method> {
    Method::from_bytes(method.as_bytes()).map_err(|_| Error::InvalidMethod {
        method: method.to_owned(),
    })
}

/// Validates a header name and value (no CR, LF or NUL; names are tokens).
pub fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::InvalidHeader {
        name: name.to_owned(),
        reason: "not a valid header name".into(),
    })?;
    // Non-ASCII is refused outright (as httpx and fetch do) rather than sent as obs-text.
    let ascii = if value.is_ascii() { value } else { "\n" };
    let mut v = HeaderValue::from_str(ascii).map_err(|_| Error::InvalidHeader {
        name: name.to_owned(),
        reason: "value must be visible ASCII, spaces or tabs (no CR, LF, NUL or non-ASCII)".into(),
    })?;
    if is_default_sensitive(&n) {
        v.set_sensitive(true);
    }
    Ok((n, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_validation() {
        assert!(matches!(parse_url("nope"), Err(Error::InvalidUrl { .. })));
        assert!(matches!(
            parse_url("ftp://a.test/"),
            Err(Error::UnsupportedScheme { .. })
        ));
        assert!(parse_url("http://a.test/").is_ok());
        assert!(matches!(
            parse_method("GE T"),
            Err(Error::InvalidMethod { .. })
        ));
        assert!(matches!(
            parse_header("x", "a\r\nb: c"),
            Err(Error::InvalidHeader { .. })
        ));
        assert!(matches!(
            parse_header("bad name", "v"),
            Err(Error::InvalidHeader { .. })
        ));
        assert!(matches!(
            parse_header("x-ok", "café"),
            Err(Error::InvalidHeader { .. })
        ));
        assert!(parse_header("x-ok", "a\tb c").is_ok());
    }

    #[test]
    fn urls_after_a_known_origin_parse_exactly_as_in_full() {
        let origins = [
            "http://127.0.0.1:8080",
            "https://api.example.com",
            "http://[::1]:9",
            "https://xn--bcher-kva.example",
        ];
        let tails = [
            "",
            "/",
            "/a/b?q=1#f",
            "/../x/./y",
            "//evil.test/x",
            "/\\evil.test/",
            "/\t/evil.test",
            "/a\nb",
            "/%2e%2e/x",
            "/a b?c d#e f",
            "/bücher?ä#ö",
            "?q",
            "#f",
            ":81/x",
            ".evil/x",
            "@evil.test/",
            "/a\\b",
            "/x\u{1}",
            "/?",
            "/#",
        ];
        for origin in origins {
            for tail in tails {
                let input = format!("{origin}{tail}");
                // Prime the thread's origin, then parse through whichever path applies.
                parse_url(&format!("{origin}/prime?secret=1")).unwrap();
                let got = parse_url(&input).map(|u| u.to_string()).ok();
                let want = Url::parse(&input).map(|u| u.to_string()).ok();
                assert_eq!(got, want, "{input:?}");
            }
        }
        // Only the origin is kept between calls, never a query.
        parse_url("http://a.test/p?token=s3cret").unwrap();
        let kept = LAST_ORIGIN.with_borrow(|l| l.as_ref().map(Url::to_string));
        assert_eq!(kept.as_deref(), Some("http://a.test/"));
        parse_url("http://u:pw@b.test/").unwrap();
        let kept = LAST_ORIGIN.with_borrow(|l| l.as_ref().map(Url::to_string));
        assert_eq!(kept.as_deref(), Some("http://a.test/"));
    }

    #[test]
    fn errors_never_echo_url_credentials() {
        for input in [
            "http://alice:secret@",
            "ftp://alice:secret@a.test/",
            "http://alice:secret@[::1/",
        ] {
            let e = parse_url(input).unwrap_err();
            let shown = format!("{e} {e:?} {:?}", e.url());
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn credential_values_are_marked_sensitive() {
        for name in ["Authorization", "cookie", "Proxy-Authorization"] {
            let (_, v) = parse_header(name, "Bearer s3cret").unwrap();
            assert!(v.is_sensitive(), "{name}");
            assert!(!format!("{v:?}").contains("s3cret"));
        }
        assert!(!parse_header("accept", "x").unwrap().1.is_sensitive());
    }
}
