//! Fuzz targets that run on the stable toolchain (proptest-driven, random inputs each run).
//! `cargo xtask test` runs a short smoke pass; `cargo xtask fuzz --minutes N` runs them in a
//! loop with `HOPSAFE_FUZZ_CASES` set high. Invariants are asserted inside each target:
//! no panic, credentials never reach another origin, bodies are never silently dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use hopsafe::credentials::CredentialPolicy;
use hopsafe::location::resolve_location;
use hopsafe::origin::{Origin, TrustedOrigin};
use hopsafe::redirect::{drops_body, is_followed_status, method_after_redirect, BODY_HEADERS};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use url::Url;

fn cases() -> u32 {
    std::env::var("HOPSAFE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn run<S: Strategy>(name: &str, strategy: S, target: impl Fn(S::Value)) {
    let count = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        target(v);
        Ok(())
    });
    eprintln!("fuzz {name}: {} executions", count.load(Ordering::Relaxed));
    if let Err(e) = result {
        panic!("fuzz {name} found: {e}");
    }
}

/// Bytes that look like URLs often enough to reach deep parser states.
fn location_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"http://".to_vec()),
        Just(b"https://".to_vec()),
        Just(b"//".to_vec()),
        Just(b"../".to_vec()),
        Just(b"@".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"%".to_vec()),
        Just(b"[::1]".to_vec()),
        Just(b"[fe80::1%25eth0]".to_vec()),
        Just(b":8080".to_vec()),
        Just(b"#".to_vec()),
        Just(b"?".to_vec()),
        Just(b"javascript:".to_vec()),
        Just(b"127.0.0.1".to_vec()),
        Just(b"xn--".to_vec()),
        Just(vec![0xc3, 0xa9]),
        Just(vec![0xe9]),
        proptest::collection::vec(any::<u8>(), 0..8),
        "[a-z0-9./-]{0,12}".prop_map(|s| s.into_bytes()),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn base_url() -> impl Strategy<Value = Url> {
    (
        prop_oneof![Just("http"), Just("https")],
        prop_oneof![
            Just("a.test"),
            Just("b.a.test"),
            Just("127.0.0.1"),
            Just("[::1]")
        ],
        0u16..3,
        proptest::option::of("[a-z]{1,3}"),
    )
        .prop_map(|(s, h, p, f)| {
            let port = [String::new(), ":8080".into(), ":443".into()][p as usize].clone();
            let frag = f.map(|f| format!("#{f}")).unwrap_or_default();
            Url::parse(&format!("{s}://{h}{port}/p/q{frag}")).unwrap()
        })
}

#[test]
fn fuzz_location_resolution() {
    run("location", (base_url(), location_bytes()), |(base, raw)| {
        if let Ok(next) = resolve_location(&base, &raw) {
            assert!(matches!(next.scheme(), "http" | "https"));
            assert!(next.host_str().is_some_and(|h| !h.is_empty()));
            assert!(next.username().is_empty() && next.password().is_none());
            assert!(Origin::of(&next).is_some());
        }
    });
}

#[test]
fn fuzz_redirect_decision() {
    let methods = prop_oneof![
        Just("GET"),
        Just("HEAD"),
        Just("POST"),
        Just("PUT"),
        Just("PATCH"),
        Just("DELETE"),
        Just("OPTIONS"),
        Just("PROPFIND")
    ];
    let names = proptest::collection::vec(
        prop_oneof![
            Just("authorization"),
            Just("Cookie"),
            Just("PROXY-AUTHORIZATION"),
            Just("x-api-key"),
            Just("content-type"),
            Just("content-length"),
            Just("accept"),
            Just("idempotency-key"),
            Just("host")
        ],
        0..10,
    );
    let trusted = proptest::option::of(prop_oneof![
        Just("https://*.a.test"),
        Just("https://a.test"),
        Just("https://a.test:8080")
    ]);
    run(
        "redirect-decision",
        (300u16..400, methods, base_url(), base_url(), names, trusted),
        |(code, m, from, to, names, trusted)| {
            let status = StatusCode::from_u16(code).unwrap();
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let next = method_after_redirect(status, &method);
            // Bodies are never dropped silently: only with a method change to GET, never on 307/308.
            if drops_body(&method, &next) {
                assert_eq!(next, Method::GET);
                assert!(!matches!(code, 307 | 308));
                assert!(is_followed_status(status));
            }
            let mut policy = CredentialPolicy::default();
            policy.add_sensitive(HeaderName::from_static("x-api-key"));
            if let Some(t) = trusted {
                policy.add_trusted(TrustedOrigin::parse(t).unwrap());
            }
            let mut headers = HeaderMap::new();
            for n in &names {
                headers.append(
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_static("v"),
                );
            }
            let (fo, too) = (Origin::of(&from).unwrap(), Origin::of(&to).unwrap());
            policy.strip_for_hop(&mut headers, &fo, &too);
            if !policy.keeps_credentials(&fo, &too) {
                for s in policy.sensitive() {
                    assert!(!headers.contains_key(s), "{s} crossed {fo} -> {too}");
                }
                assert!(!headers.contains_key("host"));
            } else {
                // Credentials only ever go to the same origin or to a trusted https origin.
                assert!(fo == too || too.scheme() == "https");
            }
            for b in BODY_HEADERS.iter() {
                let before = names
                    .iter()
                    .filter(|n| n.eq_ignore_ascii_case(b.as_str()))
                    .count();
                assert_eq!(
                    headers.get_all(b).iter().count(),
                    before,
                    "credential stripping never touches body headers"
                );
            }
        },
    );
}

#[test]
fn fuzz_header_sanitisation() {
    run(
        "headers",
        (any::<String>(), any::<String>()),
        |(name, value)| {
            if let Ok((n, v)) = hopsafe::parse_header(&name, &value) {
                assert!(!v.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
                assert!(v.as_bytes().is_ascii());
                assert!(!n.as_str().is_empty());
            }
            let _ = hopsafe::parse_url(&value);
            let _ = hopsafe::parse_method(&name);
            let _ = TrustedOrigin::parse(&value);
        },
    );
}

#[test]
fn fuzz_identity_header_and_versions() {
    let header = prop_oneof![
        any::<String>(),
        "(n|v|c|l|x)=(\"[ -~]{0,8}\"|[a-z?0-9.]{0,5})(;[a-z]=1)?(, ?(n|v|c|l)=\"[0-9.a-z-]{0,8}\"){0,4}",
    ];
    run(
        "client-sdk",
        (header, any::<String>(), any::<String>()),
        |(h, a, b)| {
            let one = hopsafe_pinning::parse_client_sdk(&h);
            if let Ok(id) = &one {
                assert!(!id.name.is_empty() && !id.version.is_empty());
                let sf_string = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
                assert!(sf_string(&id.name) && sf_string(&id.version));
            }
            // The same text sent as several field lines (split at ", ", which the server joins
            // back) reads the same.
            let mut lines = http::HeaderMap::new();
            for part in h.split(", ") {
                match http::HeaderValue::from_str(part) {
                    Ok(v) => lines.append("client-sdk", v),
                    Err(_) => return,
                };
            }
            assert_eq!(hopsafe_pinning::client_identity(&lines), one);
            if let (Some(x), Some(y)) = (
                hopsafe_pinning::compare_versions(&a, &b),
                hopsafe_pinning::compare_versions(&b, &a),
            ) {
                assert_eq!(x, y.reverse());
            }
        },
    );
}
