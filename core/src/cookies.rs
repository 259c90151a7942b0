//! The opt-in cookie jar: `Set-Cookie` from every response (redirects included) is stored by
//! RFC 6265's rules, and each request gets the cookies whose domain, path and `Secure` rules
//! match its URL. The rules are `cookie_store`'s (the store reqwest's cookie support uses).
//! The jar is separate from the credential rules: a caller's own `Cookie` header is still
//! stripped on every cross-origin hop, while the jar's cookies follow their own domain rules
//! (which, as RFC 6265 says, ignore the port). No public suffix list is loaded: a cookie for a
//! bare public suffix such as `Domain=com` is not refused. `Secure` cookies go only to https
//! URLs, and to loopback hosts over http (a "potentially trustworthy" origin, as browsers
//! treat `http://localhost`).

use std::sync::Mutex;

use cookie_store::{CookieStore, RawCookie};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use url::Url;

/// A client's cookies, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Jar(Mutex<CookieStore>);

impl Jar {
    fn store(&self) -> std::sync::MutexGuard<'_, CookieStore> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the `Set-Cookie` values of a response to `url` (invalid ones are ignored, as
    /// browsers do).
    pub(crate) fn remember(&self, url: &Url, headers: &HeaderMap) {
        let cookies = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| RawCookie::parse(v.to_owned()).ok())
            .collect::<Vec<_>>();
        if !cookies.is_empty() {
            self.store()
                .store_response_cookies(cookies.into_iter(), url);
        }
    }

    /// Adds the jar's cookies for `url` to `headers`, after any `Cookie` the caller sent (one
    /// field, `; ` separated, as RFC 6265 §5.4 asks).
    pub(crate) fn add_to(&self, url: &Url, headers: &mut HeaderMap) {
        let pairs = self
            .store()
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>();
        if pairs.is_empty() {
            return;
        }
        let mut line = pairs.join("; ");
        if let Some(own) = headers.get(COOKIE).and_then(|v| v.to_str().ok()) {
            line = format!("{own}; {line}");
        }
        if let Ok(mut v) = HeaderValue::from_str(&line) {
            v.set_sensitive(true);
            headers.insert(COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(SET_COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn sent(jar: &Jar, url: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        jar.add_to(&Url::parse(url).unwrap(), &mut h);
        h.get(COOKIE).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn domain_path_and_secure_rules_apply() {
        let jar = Jar::default();
        let from = Url::parse("https://api.example.com/v1/login").unwrap();
        jar.remember(
            &from,
            &set(&[
                "host=1; Path=/",
                "wide=2; Domain=example.com; Path=/",
                "deep=3; Path=/v1/",
                "safe=4; Secure; Path=/",
                "not a cookie",
            ]),
        );
        let here = sent(&jar, "https://api.example.com/v1/x").unwrap();
        for c in ["host=1", "wide=2", "deep=3", "safe=4"] {
            assert!(here.contains(c), "{here}");
        }
        let sibling = sent(&jar, "https://www.example.com/").unwrap();
        assert_eq!(sibling, "wide=2");
        let plain = sent(&jar, "http://api.example.com/").unwrap();
        assert!(
            !plain.contains("safe=4") && !plain.contains("deep=3"),
            "{plain}"
        );
        assert_eq!(sent(&jar, "https://other.example/"), None);
    }

    #[test]
    fn the_callers_cookie_comes_first_in_one_field() {
        let jar = Jar::default();
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        jar.remember(&url, &set(&["s=1"]));
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("own=0"));
        jar.add_to(&url, &mut h);
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);
        assert_eq!(h[COOKIE], "own=0; s=1");
        assert!(h[COOKIE].is_sensitive());
    }
}
