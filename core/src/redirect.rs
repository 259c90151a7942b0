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

use crate::error::Error;

/// Default maximum number of redirects in one chain.
pub const DEFAULT_MAX_REDIRECTS: u32 = 20;

/// How a client follows redirects, as one value: whether at all, how many, whether an https
/// to http downgrade is allowed, and an optional hook that can follow, stop or fail each hop.
/// The built-in rules (methods, bodies, credentials, loops) always apply.
///
/// ```
/// use hopsafe::redirect::{Policy, RedirectAction};
///
/// let policy = Policy::limited(5).hook(|attempt| {
///     if attempt.to.host_str() == Some("old.example.com") {
///         RedirectAction::Fail("the old region is retired".into())
///     } else {
///         RedirectAction::Follow
///     }
/// });
/// let client = hopsafe::Client::builder().redirect(policy).build()?;
/// let no_follow = hopsafe::Client::builder().redirect(Policy::none()).build()?;
/// # Ok::<(), hopsafe::Error>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    follow: bool,
    max: u32,
    allow_https_downgrade: bool,
    hook: Option<RedirectHook>,
}

impl Default for Policy {
    /// Follow up to [`DEFAULT_MAX_REDIRECTS`], no downgrade, no hook.
    fn default() -> Self {
        Policy::limited(DEFAULT_MAX_REDIRECTS)
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("follow", &self.follow)
            .field("max", &self.max)
            .field("allow_https_downgrade", &self.allow_https_downgrade)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Policy {
    /// Follow at most `max` redirects per chain (0 returns the first 3xx).
    pub fn limited(max: u32) -> Self {
        Policy {
            follow: true,
            max,
            allow_https_downgrade: false,
            hook: None,
        }
    }

    /// Never follow: every 3xx is returned to the caller.
    pub fn none() -> Self {
        Policy {
            follow: false,
            ..Policy::default()
        }
    }

    /// The default limit with a hook consulted before each hop.
    pub fn custom<F>(hook: F) -> Self
    where
        F: Fn(&RedirectAttempt<'_>) -> RedirectAction + Send + Sync + 'static,
    {
        Policy::default().hook(hook)
    }

    /// Adds (or replaces) the hook consulted before each hop.
    pub fn hook<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RedirectAttempt<'_>) -> RedirectAction + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Allows https to http redirects (credentials are stripped on them anyway).
    pub fn allow_https_downgrade(mut self, on: bool) -> Self {
        self.allow_https_downgrade = on;
        self
    }

    /// Turns following on or off, keeping the limit for when it is on again.
    pub fn follow(mut self, on: bool) -> Self {
        self.follow = on;
        self
    }

    /// Sets the limit, keeping the rest.
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.max = max;
        self
    }

    /// The limit per chain.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Whether a response with `status` is followed at all (given a `Location`).
    pub fn follows(&self, status: StatusCode) -> bool {
        self.follow && self.max > 0 && is_followed_status(status)
    }

    /// Decides one hop whose target is already resolved: the limit, the downgrade rule, the
    /// hook, then loops. `Ok(Stop)` returns the 3xx to the caller; errors end the chain.
    pub fn judge(
        &self,
        attempt: &RedirectAttempt<'_>,
        visits: &Visits,
    ) -> Result<RedirectAction, Error> {
        let to = || attempt.to.to_string();
        if attempt.hops as u64 >= u64::from(self.max) {
            return Err(Error::TooManyRedirects {
                max: self.max,
                url: to(),
                history: Vec::new(),
            });
        }
        if is_downgrade(attempt.from, attempt.to) && !self.allow_https_downgrade {
            return Err(Error::InsecureRedirect {
                from: attempt.from.to_string(),
                to: to(),
                history: Vec::new(),
            });
        }
        match self.hook.as_ref().map(|hook| hook(attempt)) {
            Some(RedirectAction::Stop) => return Ok(RedirectAction::Stop),
            Some(RedirectAction::Fail(reason)) => {
                return Err(Error::RedirectRejected {
                    url: to(),
                    reason,
                    history: Vec::new(),
                })
            }
            Some(RedirectAction::Follow) | None => {}
        }
        if visits.is_loop(attempt.next_method, attempt.to) {
            return Err(Error::RedirectLoop {
                method: attempt.next_method.to_string(),
                url: to(),
                history: Vec::new(),
            });
        }
        Ok(RedirectAction::Follow)
    }
}

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

/// The redirect rule applied to a recorded hop (here, beside the rule, so the history module
/// stays a leaf).
impl crate::history::Hop {
    /// Whether this redirect says the server accepted a write: it turned the method into GET
    /// (a 303 answering anything but GET/HEAD, or a 301/302 answering a POST).
    pub fn accepted_write(&self) -> bool {
        method_after_redirect(self.status, &self.method) != self.method
    }
}

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
    fn the_policy_checks_limit_then_downgrade_then_hook_then_loop() {
        let u = |s: &str| Url::parse(s).unwrap();
        let (from, to) = (u("https://a.test/"), u("http://a.test/"));
        let attempt = |hops| RedirectAttempt {
            status: StatusCode::FOUND,
            from: &from,
            to: &to,
            method: &Method::GET,
            next_method: &Method::GET,
            hops,
        };
        let visits = Visits::default();
        let name = |r: Result<RedirectAction, Error>| r.map_err(|e| e.name());
        assert_eq!(
            name(Policy::limited(1).judge(&attempt(1), &visits)),
            Err("TooManyRedirects")
        );
        assert_eq!(
            name(Policy::limited(2).judge(&attempt(1), &visits)),
            Err("InsecureRedirect")
        );
        let allowed = Policy::limited(2).allow_https_downgrade(true);
        assert_eq!(
            name(allowed.judge(&attempt(1), &visits)),
            Ok(RedirectAction::Follow)
        );
        let stop = allowed.clone().hook(|_| RedirectAction::Stop);
        assert_eq!(
            name(stop.judge(&attempt(1), &visits)),
            Ok(RedirectAction::Stop)
        );
        let fail = allowed.clone().hook(|_| RedirectAction::Fail("no".into()));
        assert_eq!(
            name(fail.judge(&attempt(1), &visits)),
            Err("RedirectRejected")
        );
        let mut twice = Visits::default();
        twice.record(&Method::GET, &to);
        twice.record(&Method::GET, &to);
        assert_eq!(
            name(allowed.judge(&attempt(1), &twice)),
            Err("RedirectLoop")
        );
        assert!(!Policy::none().follows(StatusCode::FOUND));
        assert!(!Policy::limited(0).follows(StatusCode::FOUND));
        assert!(Policy::default().follows(StatusCode::FOUND));
        assert!(!Policy::default().follows(StatusCode::MULTIPLE_CHOICES));
    }

    #[test]
    fn policy_constructors_and_accessors() {
        let u = Url::parse("http://a.test/").unwrap();
        let attempt = RedirectAttempt {
            status: StatusCode::FOUND,
            from: &u,
            to: &u,
            method: &Method::GET,
            next_method: &Method::GET,
            hops: 0,
        };
        let custom = Policy::custom(|_| RedirectAction::Stop);
        assert_eq!(custom.max(), DEFAULT_MAX_REDIRECTS);
        let judged = custom
            .judge(&attempt, &Visits::default())
            .map_err(|e| e.name());
        assert_eq!(
            judged,
            Ok(RedirectAction::Stop),
            "custom() installs the hook"
        );
        assert_eq!(Policy::limited(7).max(), 7);
        assert_eq!(Policy::default().max_redirects(3).max(), 3);
        let shown = format!("{:?}", Policy::limited(7).allow_https_downgrade(true));
        assert!(
            shown.contains("max: 7") && shown.contains("allow_https_downgrade: true"),
            "{shown}"
        );
        assert!(format!("{custom:?}").contains("hook: true"));
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
