//! Which headers are credentials, and when they must be removed on a redirect.
//!
//! Credentials belong to the origin they were given for. A hop to another origin (scheme,
//! host or port differ) removes them, and because they are removed from the request itself
//! they stay removed for the rest of the chain, even if a later hop returns to the first
//! origin (Go CVE-2024-45336). A hop to an origin the user explicitly trusted keeps them.

use http::{HeaderMap, HeaderName};

use crate::origin::{Origin, TrustedOrigin};
use crate::response::{DropReason, DroppedHeader};

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
    /// they may go there. Returns what was removed.
    pub fn strip_for_hop(
        &self,
        headers: &mut HeaderMap,
        from: &Origin,
        to: &Origin,
    ) -> Vec<DroppedHeader> {
        if self.keeps_credentials(from, to) {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        let host = std::iter::once(&http::header::HOST);
        for name in self.sensitive.iter().chain(host) {
            if headers.remove(name).is_some() {
                dropped.push(DroppedHeader {
                    name: name.as_str().to_owned(),
                    reason: DropReason::CrossOrigin,
                });
            }
        }
        dropped
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
