//! Which headers are credentials, and when they must be removed on a redirect.
//!
//! Credentials belong to the origin they were given for. A hop to another origin (scheme,
//! host or port differ) removes them, and because they are removed from the request itself
//! they stay removed for the rest of the chain, even if a later hop returns to the first
//! origin (Go CVE-2024-45336). A hop to an origin the user explicitly trusted keeps them.

use base64::Engine as _;
use http::header::{Entry, AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::history::{DropReason, DroppedHeader};
use crate::origin::{Origin, TrustedOrigin};

/// Headers that are always treated as credentials.
pub const DEFAULT_SENSITIVE_HEADERS: [HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
];

/// The credential rules of one client.
#[derive(Debug, Clone)]
pub struct CredentialPolicy {
    sensitive: Vec<HeaderName>,
    trusted: Vec<TrustedOrigin>,
}

impl Default for CredentialPolicy {
    fn default() -> Self {
        CredentialPolicy {
            sensitive: DEFAULT_SENSITIVE_HEADERS.to_vec(),
            trusted: Vec::new(),
        }
    }
}

impl CredentialPolicy {
    /// Adds a header to strip on cross-origin hops (matched case-insensitively).
    pub fn add_sensitive(&mut self, name: HeaderName) {
        if !self.sensitive.contains(&name) {
            self.sensitive.push(name);
        }
    }

    /// Trusts an origin to receive credentials across a redirect.
    pub fn add_trusted(&mut self, origin: TrustedOrigin) {
        self.trusted.push(origin);
    }

    /// The header names treated as credentials.
    pub fn sensitive(&self) -> &[HeaderName] {
        &self.sensitive
    }

    /// Whether credentials sent to `from` may also go to `to`: same origin, or `to` is
    /// trusted. (Credentials reaching `from` means `from` was the first origin or trusted.)
    pub fn keeps_credentials(&self, from: &Origin, to: &Origin) -> bool {
        from == to || self.trusted.iter().any(|t| t.matches(to))
    }

    /// Removes the credential headers from `headers` for a hop from `from` to `to`, unless
    /// they may go there. A caller's `Host` names the first origin, so it goes on every
    /// origin change, trusted or not. Returns what was removed.
    pub fn strip_for_hop(
        &self,
        headers: &mut HeaderMap,
        from: &Origin,
        to: &Origin,
    ) -> Vec<DroppedHeader> {
        if from == to {
            return Vec::new();
        }
        let keep = self.keeps_credentials(from, to);
        let credentials = self.sensitive.iter().filter(|_| !keep);
        let mut dropped = Vec::new();
        for name in credentials.chain(std::iter::once(&HOST)) {
            if headers.remove(name).is_some() {
                dropped.push(DroppedHeader {
                    name: name.as_str().to_owned(),
                    reason: DropReason::CrossOrigin,
                });
            }
        }
        dropped
    }

    /// Marks every value of every credential header as sensitive, so `Debug` output shows
    /// `Sensitive` instead of the secret and HTTP/2 never adds it to the HPACK table.
    pub fn mark_sensitive(&self, headers: &mut HeaderMap) {
        for name in &self.sensitive {
            mark(headers, name);
        }
    }

    /// Whether `name` is one of this client's credential headers.
    pub fn is_sensitive(&self, name: &HeaderName) -> bool {
        self.sensitive.contains(name)
    }
}

fn mark(headers: &mut HeaderMap, name: &HeaderName) {
    if let Entry::Occupied(mut e) = headers.entry(name) {
        for v in e.iter_mut() {
            v.set_sensitive(true);
        }
    }
}

/// Whether `name` is a credential header for every client ([`DEFAULT_SENSITIVE_HEADERS`]).
pub fn is_default_sensitive(name: &HeaderName) -> bool {
    DEFAULT_SENSITIVE_HEADERS.contains(name)
}

/// Moves `user:password@` out of `url` into `Authorization: Basic` (unless the caller set an
/// `Authorization` already), so the URL can be shown in errors, hops and logs.
pub fn take_userinfo(url: &mut Url, headers: &mut HeaderMap) {
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    if !headers.contains_key(AUTHORIZATION) {
        let user = percent_decode(url.username());
        let password = percent_decode(url.password().unwrap_or_default());
        headers.insert(AUTHORIZATION, basic_auth_value(&user, &password));
    }
    // Clearing credentials cannot fail on an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `Basic base64(user:password)`, marked sensitive.
pub fn basic_auth_value(user: &str, password: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut v = HeaderValue::from_str(&format!("Basic {token}"))
        .expect("base64 output is a valid header value");
    v.set_sensitive(true);
    v
}

/// `text` with any `user:password@` removed from what looks like a URL's authority, for
/// input that may not parse as a URL (error messages echo it). `http://alice:secret@h/x`
/// becomes `http://h/x`; text without `@` before the path is returned as is.
pub fn redact_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(colon) = text.find(':') else {
        return text.into();
    };
    let after_scheme = &text[colon + 1..];
    let slashes = after_scheme.len() - after_scheme.trim_start_matches(['/', '\\']).len();
    let authority_start = colon + 1 + slashes;
    let rest = &text[authority_start..];
    let authority_len = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        None => text.into(),
        Some(at) => format!("{}{}", &text[..authority_start], &rest[at + 1..]).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn o(u: &str) -> Origin {
        Origin::of(&Url::parse(u).unwrap()).unwrap()
    }

    fn creds() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer x".parse().unwrap());
        h.insert("Cookie", "a=b".parse().unwrap());
        h.insert("proxy-authorization", "Basic y".parse().unwrap());
        h.insert("x-api-key", "k".parse().unwrap());
        h.insert("accept", "*/*".parse().unwrap());
        h
    }

    #[test]
    fn same_origin_keeps_everything() {
        let p = CredentialPolicy::default();
        let mut h = creds();
        assert!(p
            .strip_for_hop(&mut h, &o("http://a.test/"), &o("http://a.test/x"))
            .is_empty());
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn cross_origin_strips_defaults_and_named() {
        let mut p = CredentialPolicy::default();
        p.add_sensitive(HeaderName::from_static("x-api-key"));
        for to in ["http://b.test/", "http://a.test:81/", "https://a.test/"] {
            let mut h = creds();
            let d = p.strip_for_hop(&mut h, &o("http://a.test/"), &o(to));
            assert_eq!(d.len(), 4, "{to}");
            assert_eq!(h.len(), 1);
            assert!(h.contains_key("accept"));
        }
    }

    #[test]
    fn host_goes_on_every_origin_change_even_trusted() {
        let mut p = CredentialPolicy::default();
        p.add_trusted(TrustedOrigin::parse("https://*.example.com").unwrap());
        let mut h = creds();
        h.insert(HOST, "us.example.com".parse().unwrap());
        let from = o("https://us.example.com/");
        let d = p.strip_for_hop(&mut h, &from, &o("https://eu.example.com/"));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name, "host");
        assert!(h.contains_key("authorization"));
        h.insert(HOST, "us.example.com".parse().unwrap());
        assert!(p.strip_for_hop(&mut h, &from, &from).is_empty());
        assert!(h.contains_key(HOST));
    }

    #[test]
    fn userinfo_is_redacted_from_text() {
        for (input, want) in [
            ("http://alice:secret@h.test/x", "http://h.test/x"),
            ("http://alice:s@cr@t@h.test", "http://h.test"),
            ("https://tok@h.test?q=a@b", "https://h.test?q=a@b"),
            ("http:\\\\u:p@h.test/", "http:\\\\h.test/"),
            ("http://h.test/a@b", "http://h.test/a@b"),
            ("not a url", "not a url"),
            ("ftp://u:p@[::1", "ftp://[::1"),
        ] {
            assert_eq!(redact_userinfo(input), want, "{input}");
        }
    }

    #[test]
    fn userinfo_becomes_basic_auth_and_leaves_the_url() {
        let mut url = Url::parse("http://al%20ice:p%40ss@h.test/x").unwrap();
        let mut h = HeaderMap::new();
        take_userinfo(&mut url, &mut h);
        assert_eq!(url.as_str(), "http://h.test/x");
        let v = &h[AUTHORIZATION];
        assert!(v.is_sensitive());
        assert_eq!(v, &basic_auth_value("al ice", "p@ss"));
    }

    #[test]
    fn trusted_origins_keep_credentials() {
        let mut p = CredentialPolicy::default();
        p.add_trusted(TrustedOrigin::parse("https://*.example.com").unwrap());
        let mut h = creds();
        let from = o("https://us.example.com/");
        assert!(p
            .strip_for_hop(&mut h, &from, &o("https://eu.example.com/"))
            .is_empty());
        assert!(!p
            .strip_for_hop(&mut h, &from, &o("http://eu.example.com/"))
            .is_empty());
    }
}
