//! Which 3xx responses are followed, and what the next request's method and body are.
//!
//! RFC 9110 §15.4, RFC 7538 and the WHATWG Fetch standard:
//!
//! | status        | method on the next hop                  | body         |
//! |---------------|-----------------------------------------|--------------|
//! | 301, 302      | POST becomes GET, every other unchanged | kept unless POST |
//! | 303           | every method but HEAD becomes GET       | dropped      |
//! | 307, 308      | unchanged                               | kept (same bytes) |
//! | 300, 304, 305, 306, other 3xx | not followed            |              |

use std::sync::Arc;

use http::{HeaderName, Method, StatusCode};
use url::Url;

/// Header fields that describe or depend on the body; they go when the body goes.
///
/// The content headers of RFC 9110 §15.4 (which names `Digest` among them), their successors
/// `Content-Digest` and `Repr-Digest` (RFC 9530), and `Expect`, which a request without
/// content must not send (RFC 9110 §10.1.1).
pub const BODY_HEADERS: [HeaderName; 10] = [
    http::header::CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
    http::header::CONTENT_ENCODING,
    http::header::CONTENT_LANGUAGE,
    http::header::CONTENT_LOCATION,
    http::header::TRANSFER_ENCODING,
    http::header::EXPECT,
    HeaderName::from_static("digest"),
    HeaderName::from_static("content-digest"),
    HeaderName::from_static("repr-digest"),
];

/// How often one (method, URL) may be requested in a chain. RFC 9110 §15.4 asks clients to
/// detect *infinite* loops: a single revisit (a 302 back to the same URL after setting a
/// cookie, as post/redirect/get does) is progress; a third request for the same (method,
/// URL) is a loop.
pub const MAX_REQUESTS_PER_TARGET: usize = 2;

/// Whether a redirect from `from` to `to` is an https to http downgrade (refused unless the
/// caller allows it; credentials never follow it either way).
pub fn is_downgrade(from: &Url, to: &Url) -> bool {
    from.scheme() == "https" && to.scheme() == "http"
}

/// The requests made in one chain, by (method, URL without fragment), for loop detection.
#[derive(Debug, Default)]
pub struct Visits(Vec<(Method, String)>);

impl Visits {
    /// Records a request that was made.
    pub fn record(&mut self, method: &Method, url: &Url) {
        self.0.push((method.clone(), without_fragment(url)));
    }

    /// Whether requesting (`method`, `url`) once more would be a loop: it was already
    /// requested [`MAX_REQUESTS_PER_TARGET`] times.
    pub fn is_loop(&self, method: &Method, url: &Url) -> bool {
        let target = without_fragment(url);
        let seen = self
            .0
            .iter()
            .filter(|(m, u)| m == method && *u == target)
            .count();
        seen >= MAX_REQUESTS_PER_TARGET
    }
}

fn without_fragment(url: &Url) -> String {
    match url.fragment() {
        None => url.as_str().to_owned(),
        Some(_) => url[..url::Position::AfterQuery].to_owned(),
    }
}

/// Whether a response with this status is a redirect hopsafe follows (given a `Location`).
///
/// Only 301, 302, 303, 307 and 308. 300 (multiple choices), 304 (not modified), 305 (use
/// proxy, deprecated), 306 (unused) and unknown 3xx codes are returned to the caller.
pub fn is_followed_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The method of the request that follows a redirect with `status`.
///
/// - 301/302: POST becomes GET (what every browser does, allowed by RFC 9110 §15.4.2-3);
///   PUT, DELETE, PATCH... stay as they are.
/// - 303: every method except HEAD becomes GET (RFC 9110 §15.4.4).
/// - 307/308: the method never changes (RFC 9110 §15.4.8, RFC 7538).
pub fn method_after_redirect(status: StatusCode, method: &Method) -> Method {
    match status.as_u16() {
        301 | 302 if method == Method::POST => Method::GET,
        303 if method != Method::HEAD => Method::GET,
        _ => method.clone(),
    }
}

/// Whether the body (and the [`BODY_HEADERS`]) must be removed for the next hop: exactly when
/// the method was rewritten. 307/308 never drop the body.
pub fn drops_body(old: &Method, new: &Method) -> bool {
    old != new
}

/// What a redirect policy hook is shown before a hop is followed.
#[derive(Debug)]
#[non_exhaustive]
pub struct RedirectAttempt<'a> {
    /// The redirect status.
    pub status: StatusCode,
    /// The URL that answered with the redirect.
    pub from: &'a Url,
    /// The resolved target.
    pub to: &'a Url,
    /// The method that was sent.
    pub method: &'a Method,
    /// The method the next hop will use.
    pub next_method: &'a Method,
    /// Redirects already followed in this chain.
    pub hops: usize,
}

/// A hook's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectAction {
    /// Follow the redirect (the built-in rules still apply).
    Follow,
    /// Stop and return the 3xx response to the caller.
    Stop,
    /// Fail with [`Error::RedirectRejected`](crate::Error) and this reason.
    Fail(String),
}

/// A user hook consulted for every hop.
pub type RedirectHook = Arc<dyn Fn(&RedirectAttempt<'_>) -> RedirectAction + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Method {
        Method::from_bytes(s.as_bytes()).unwrap()
    }

    #[test]
    fn the_table() {
        let cases = [
            (301, "POST", "GET"),
            (302, "POST", "GET"),
            (301, "PUT", "PUT"),
            (302, "PUT", "PUT"),
            (302, "DELETE", "DELETE"),
            (302, "PATCH", "PATCH"),
            (303, "POST", "GET"),
            (303, "PUT", "GET"),
            (303, "DELETE", "GET"),
            (303, "HEAD", "HEAD"),
            (303, "GET", "GET"),
            (307, "POST", "POST"),
            (308, "PATCH", "PATCH"),
            (307, "HEAD", "HEAD"),
        ];
        for (status, from, to) in cases {
            let s = StatusCode::from_u16(status).unwrap();
            assert_eq!(method_after_redirect(s, &m(from)), m(to), "{status} {from}");
        }
    }

    #[test]
    fn one_revisit_is_progress_a_second_is_a_loop() {
        let a = Url::parse("http://a.test/x#f").unwrap();
        let a_other_fragment = Url::parse("http://a.test/x#g").unwrap();
        let mut v = Visits::default();
        v.record(&Method::POST, &a);
        assert!(!v.is_loop(&Method::POST, &a_other_fragment));
        assert!(!v.is_loop(&Method::GET, &a));
        v.record(&Method::POST, &a);
        assert!(v.is_loop(&Method::POST, &a_other_fragment));
        assert!(!v.is_loop(&Method::GET, &a));
    }

    #[test]
    fn downgrades() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_downgrade(&u("https://a.test/"), &u("http://a.test/")));
        assert!(!is_downgrade(&u("http://a.test/"), &u("https://a.test/")));
        assert!(!is_downgrade(&u("http://a.test/"), &u("http://b.test/")));
        assert!(!is_downgrade(&u("https://a.test/"), &u("https://b.test/")));
    }

    #[test]
    fn only_five_statuses_are_followed() {
        for code in 300..400 {
            let s = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                is_followed_status(s),
                [301, 302, 303, 307, 308].contains(&code)
            );
        }
    }
}
