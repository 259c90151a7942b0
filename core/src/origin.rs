//! Origins (scheme, host, port) and the user's list of trusted origins.

use std::borrow::Cow;

use smol_str::SmolStr;
use url::{Host, Url};

use crate::error::{Error, Result};

/// A tuple origin: scheme, normalised host and effective port.
///
/// Hosts are compared after the URL parser's normalisation (lower case, IDNA, canonical IP
/// forms), so `HTTP://Example.COM:80` and `http://example.com` are the same origin, while
/// `localhost` and `127.0.0.1` are not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Borrowed for `http` and `https` (no allocation per request).
    scheme: Cow<'static, str>,
    /// Inline up to 23 bytes: computing a request's origin does not allocate.
    host: SmolStr,
    port: u16,
}

impl Origin {
    /// The origin of an http(s) URL; `None` for other schemes or URLs without a host.
    pub fn of(url: &Url) -> Option<Origin> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        Some(Origin {
            scheme: match url.scheme() {
                "https" => Cow::Borrowed("https"),
                "http" => Cow::Borrowed("http"),
                other => Cow::Owned(other.to_owned()),
            },
            host: SmolStr::new(host),
            port,
        })
    }

    /// The scheme (`http` or `https`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The serialised host (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The effective port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// An origin the user allows credentials to follow a redirect to: either exactly
/// `https://host[:port]` or every subdomain `https://*.example.com[:port]`.
///
/// Only https origins can be trusted, and an IP literal never matches a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedOrigin {
    /// One origin.
    Exact(Origin),
    /// Every strict subdomain of `suffix` with this scheme and port (not `suffix` itself).
    Subdomains {
        scheme: String,
        suffix: String,
        port: u16,
    },
}

impl TrustedOrigin {
    /// Parses `https://api.example.com`, `https://api.example.com:8443` or
    /// `https://*.example.com`.
    pub fn parse(pattern: &str) -> Result<TrustedOrigin> {
        Self::parse_as(pattern, "trusted origin", &["https"])
    }

    /// Parses the same syntax with `http` allowed too, for lists that grant no credentials
    /// (such as the origins that honour idempotency keys). `what` names the list in errors.
    pub fn parse_any_scheme(pattern: &str, what: &str) -> Result<TrustedOrigin> {
        Self::parse_as(pattern, what, &["https", "http"])
    }

    fn parse_as(pattern: &str, what: &str, schemes: &[&str]) -> Result<TrustedOrigin> {
        let bad = |why: &str| Error::invalid_config(format!("{what} {pattern:?}: {why}"));
        let (scheme, rest) = pattern
            .split_once("://")
            .filter(|(s, _)| schemes.contains(s))
            .ok_or_else(|| bad(&format!("must start with {}://", schemes.join(":// or "))))?;
        if let Some(domain) = rest.strip_prefix("*.") {
            let url =
                Url::parse(&format!("{scheme}://{domain}")).map_err(|e| bad(&e.to_string()))?;
            check_bare(&url, pattern).map_err(&bad)?;
            return match url.host() {
                Some(Host::Domain(d)) if d.contains('.') || d == "localhost" => {
                    Ok(TrustedOrigin::Subdomains {
                        scheme: scheme.to_owned(),
                        suffix: d.to_owned(),
                        port: url.port_or_known_default().unwrap_or(443),
                    })
                }
                Some(Host::Domain(_)) => Err(bad("wildcard needs a registrable domain")),
                _ => Err(bad("a wildcard cannot cover an IP address")),
            };
        }
        let url = Url::parse(pattern).map_err(|e| bad(&e.to_string()))?;
        check_bare(&url, pattern).map_err(&bad)?;
        let origin = Origin::of(&url).ok_or_else(|| bad("no host"))?;
        Ok(TrustedOrigin::Exact(origin))
    }

    /// Whether `origin` is covered by this entry.
    pub fn matches(&self, origin: &Origin) -> bool {
        match self {
            TrustedOrigin::Exact(o) => o == origin,
            TrustedOrigin::Subdomains {
                scheme,
                suffix,
                port,
            } => {
                origin.scheme == *scheme
                    && origin.port == *port
                    && is_domain_name(&origin.host)
                    && origin
                        .host
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
        }
    }
}

fn check_bare(url: &Url, pattern: &str) -> std::result::Result<(), &'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let path_ok = url.path() == "/" && !pattern.trim_end_matches('/').ends_with("/.");
    if !path_ok || url.query().is_some() || url.fragment().is_some() {
        return Err("must be an origin only (no path, query or fragment)");
    }
    Ok(())
}

/// True for DNS names, false for IPv4 and IPv6 literals (with or without zone).
fn is_domain_name(host: &str) -> bool {
    !host.starts_with('[') && host.parse::<std::net::Ipv4Addr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(u: &str) -> Origin {
        Origin::of(&Url::parse(u).unwrap()).unwrap()
    }

    #[test]
    fn default_ports_and_case_are_normalised() {
        assert_eq!(
            origin("HTTP://Example.COM:80/x"),
            origin("http://example.com")
        );
        assert_ne!(origin("http://localhost:1"), origin("http://127.0.0.1:1"));
        assert_ne!(origin("http://a.com"), origin("https://a.com"));
    }

    #[test]
    fn trusted_patterns() {
        let w = TrustedOrigin::parse("https://*.example.com").unwrap();
        assert!(w.matches(&origin("https://eu.api.example.com")));
        assert!(!w.matches(&origin("https://example.com")));
        assert!(!w.matches(&origin("https://badexample.com")));
        assert!(!w.matches(&origin("http://eu.example.com")));
        assert!(!w.matches(&origin("https://eu.example.com:8443")));
        let e = TrustedOrigin::parse("https://api.example.com:8443").unwrap();
        assert!(e.matches(&origin("https://api.example.com:8443")));
        assert!(!e.matches(&origin("https://api.example.com")));
        for bad in [
            "http://a.com",
            "https://*.1.2.3",
            "https://a.com/path",
            "https://u:p@a.com",
            "a.com",
            "https://*.com",
        ] {
            assert!(TrustedOrigin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_honouring_patterns_allow_http_and_keep_the_scheme() {
        let w = TrustedOrigin::parse_any_scheme("http://*.example.com", "x").unwrap();
        assert!(w.matches(&origin("http://eu.example.com")));
        assert!(!w.matches(&origin("https://eu.example.com")));
        let e = TrustedOrigin::parse_any_scheme("http://127.0.0.1:8080", "x").unwrap();
        assert!(e.matches(&origin("http://127.0.0.1:8080")));
        assert!(TrustedOrigin::parse_any_scheme("ftp://a.com", "x").is_err());
        assert!(TrustedOrigin::parse_any_scheme("http://*.1.2.3", "x").is_err());
    }

    #[test]
    fn ip_literals_never_match_wildcards() {
        let w = TrustedOrigin::parse("https://*.example.com").unwrap();
        assert!(!w.matches(&origin("https://[::1]")));
        assert!(!w.matches(&origin("https://127.0.0.1")));
    }
}
