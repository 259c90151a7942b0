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

/// Full jitter really spreads over `[0, min(max_delay, base * 2^retry)]`: the ceiling doubles
/// per retry and is capped (seeded, so the draws are the same every run).
#[test]
fn backoff_doubles_up_to_the_cap() {
    use hopsafe::retry::Backoff;
    use hopsafe::RetryPolicy;
    use std::time::Duration;
    let ms = Duration::from_millis;
    let policy = RetryPolicy {
        base_delay: ms(1),
        max_delay: ms(1000),
        jitter_seed: Some(7),
        ..RetryPolicy::default()
    };
    let draws = |retry: u32, policy: &RetryPolicy| {
        let mut b = Backoff::new(policy);
        (0..200).map(|_| b.delay(policy, retry)).collect::<Vec<_>>()
    };
    let first = draws(0, &policy);
    assert!(first.iter().all(|d| *d <= ms(1)));
    assert!(first.iter().any(|d| *d > Duration::ZERO));
    let fifth = draws(4, &policy);
    assert!(fifth.iter().all(|d| *d <= ms(16)));
    assert!(
        fifth.iter().any(|d| *d > ms(8)),
        "the ceiling doubled four times"
    );
    let capped = RetryPolicy {
        max_delay: ms(3),
        ..policy.clone()
    };
    let late = draws(12, &capped);
    assert!(late.iter().all(|d| *d <= ms(3)));
    assert!(late.iter().any(|d| *d > ms(2)));
}

/// `RetryPolicy::never()` sends once: a 503 is handed back after a single delivery.
#[tokio::test]
async fn never_means_one_attempt() {
    use hopsafe_testserver::{Step, TestServer};
    let srv = TestServer::start().await.unwrap();
    let id = srv.script(vec![Step::status(503), Step::ok()]);
    let c = hopsafe::Client::builder()
        .retry(hopsafe::RetryPolicy::never())
        .build()
        .unwrap();
    let resp = c
        .get(&srv.url("a", &format!("/s/{id}/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.attempts(), 1);
    assert_eq!(srv.records(&id).len(), 1);
    assert_eq!(hopsafe::RetryPolicy::never().max_attempts, 1);
}

/// Caller keys are 1 to 255 printable ASCII characters; quoted keys escape `"` and `\`, bare
/// keys refuse what a bare value cannot carry.
#[test]
fn idempotency_key_encoding_limits() {
    use hopsafe::idempotency::encode_key;
    use hopsafe::KeyFormat::{Bare, Quoted};
    let max = "k".repeat(255);
    assert_eq!(
        encode_key(&max, Bare).unwrap().to_str().unwrap(),
        max.as_str()
    );
    assert!(encode_key(&format!("{max}k"), Bare).is_err());
    assert!(encode_key("", Quoted).is_err());
    assert!(encode_key("a\u{7f}", Quoted).is_err());
    assert!(encode_key("caf\u{e9}", Quoted).is_err());
    assert_eq!(
        encode_key(r#"a"b\c"#, Quoted).unwrap().to_str().unwrap(),
        r#""a\"b\\c""#
    );
    for bad in ["a b", "a\"b", "a\\b", "a,b"] {
        assert!(encode_key(bad, Bare).is_err(), "{bad}");
        assert!(encode_key(bad, Quoted).is_ok(), "{bad}");
    }
}

/// Fresh keys are distinct UUID v4 strings.
#[test]
fn new_keys_are_distinct_uuid_v4() {
    let (a, b) = (
        hopsafe::idempotency::new_key(),
        hopsafe::idempotency::new_key(),
    );
    assert_ne!(a, b);
    for k in [a, b] {
        assert_eq!(k.len(), 36);
        assert_eq!(&k[14..15], "4", "{k}");
        assert!(k.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }
}
