//! Edge cases of the policy modules (location, origin, credentials, idempotency, retry,
//! redirect) through the public API, written to kill the mutants `cargo xtask mutants` found
//! surviving (see docs/mutants.md): each test names the rule it pins down.

use hopsafe::location::{resolve_location, LocationError, MAX_LOCATION_LEN};
use hopsafe::origin::{Origin, TrustedOrigin};
use url::Url;

fn base() -> Url {
    Url::parse("http://a.test/dir/page#frag").unwrap()
}

fn origin(u: &str) -> Origin {
    Origin::of(&Url::parse(u).unwrap()).unwrap()
}

/// The documented limit is 16 KiB, inclusive: exactly 16384 bytes are followed, one more is
/// refused with the length in the error.
#[test]
fn location_length_limit_is_16_kib_inclusive() {
    assert_eq!(MAX_LOCATION_LEN, 16 * 1024);
    let path = format!("/{}", "a".repeat(16 * 1024 - 1));
    assert!(resolve_location(&base(), path.as_bytes()).is_ok());
    let longer = format!("{path}b");
    assert_eq!(
        resolve_location(&base(), longer.as_bytes()),
        Err(LocationError::TooLong(16 * 1024 + 1))
    );
}

/// Every refusal explains itself (these texts reach users inside `InvalidLocation`).
#[test]
fn location_errors_say_why() {
    let text = |raw: &[u8]| resolve_location(&base(), raw).unwrap_err().to_string();
    assert_eq!(text(b" \t "), "empty");
    assert_eq!(
        text("/x".repeat(9000).as_bytes()),
        "18000 bytes, limit 16384"
    );
    assert_eq!(text(b"/a\x01b"), "contains a control character");
    assert!(text(b"http://[::1").starts_with("not a URL: "));
    assert_eq!(text(b"ftp://a.test/"), "scheme \"ftp\" is not http(s)");
}

/// Tabs and newlines inside a Location are not refused as control characters: the URL parser
/// removes them (WHATWG), as browsers do.
#[test]
fn location_tabs_and_newlines_are_stripped_not_refused() {
    let next = resolve_location(&base(), b"/a\tb\nc\rd").unwrap();
    assert_eq!(next.path(), "/abcd");
}

/// An origin exposes its normalised parts and prints as scheme://host:port.
#[test]
fn origin_parts_and_display() {
    let o = origin("HTTPS://API.Example.COM/x?y#z");
    assert_eq!(
        (o.scheme(), o.host(), o.port()),
        ("https", "api.example.com", 443)
    );
    assert_eq!(o.to_string(), "https://api.example.com:443");
    let v6 = origin("http://[::1]:8080/");
    assert_eq!((v6.host(), v6.port()), ("[::1]", 8080));
    assert_eq!(v6.to_string(), "http://[::1]:8080");
}

fn refusal(pattern: &str) -> String {
    TrustedOrigin::parse(pattern).unwrap_err().to_string()
}

/// Trust patterns are origins only: any userinfo (user alone, password alone), path, query,
/// fragment or `/.` is refused, and a bare wildcard over a single label says why.
#[test]
fn trust_patterns_are_bare_origins() {
    for bad in ["https://u@a.com", "https://:p@a.com", "https://u:p@a.com"] {
        assert!(refusal(bad).contains("must not carry credentials"), "{bad}");
    }
    for bad in [
        "https://a.com/?q",
        "https://a.com/#f",
        "https://a.com?q",
        "https://a.com/.",
        "https://a.com/x",
        "https://*.a.com/?q",
        "https://*.a.com/#f",
    ] {
        assert!(refusal(bad).contains("origin only"), "{bad}");
    }
    assert!(refusal("https://*.com").contains("registrable domain"));
    assert!(refusal("https://*.1.2.3").contains("cannot cover an IP address"));
    assert!(TrustedOrigin::parse("https://a.com/").is_ok());
    assert!(TrustedOrigin::parse("https://*.localhost").is_ok());
}

/// A wildcard covers strict subdomains only: not the domain itself, not a name that merely
/// ends with it, and not an empty label in front of it.
#[test]
fn wildcards_need_a_real_label() {
    let w = TrustedOrigin::parse("https://*.example.com").unwrap();
    assert!(w.matches(&origin("https://a.example.com")));
    assert!(!w.matches(&origin("https://example.com")));
    assert!(!w.matches(&origin("https://aexample.com")));
    if let Ok(u) = Url::parse("https://.example.com/") {
        if let Some(o) = Origin::of(&u) {
            assert!(!w.matches(&o), "{o}");
        }
    }
    let port = TrustedOrigin::parse("https://*.example.com:8443").unwrap();
    assert!(port.matches(&origin("https://a.example.com:8443")));
    assert!(!port.matches(&origin("https://a.example.com")));
    let any = TrustedOrigin::parse_any_scheme("http://*.example.com", "x").unwrap();
    assert!(any.matches(&origin("http://a.example.com")));
    assert!(!any.matches(&origin("https://a.example.com")));
}

/// The default credential headers, and a declared one added once however often it is added.
#[test]
fn credential_policy_lists_each_sensitive_header_once() {
    use hopsafe::credentials::CredentialPolicy;
    use http::HeaderName;
    let mut p = CredentialPolicy::default();
    let names = |p: &CredentialPolicy| -> Vec<String> {
        p.sensitive()
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect()
    };
    assert_eq!(
        names(&p),
        ["authorization", "proxy-authorization", "cookie"]
    );
    p.add_sensitive(HeaderName::from_static("x-api-key"));
    p.add_sensitive(HeaderName::from_static("x-api-key"));
    p.add_sensitive(HeaderName::from_static("cookie"));
    assert_eq!(
        names(&p),
        [
            "authorization",
            "proxy-authorization",
            "cookie",
            "x-api-key"
        ]
    );
}
