//! Property tests of the pure policy functions: URL resolution, credential stripping, the
//! redirect method table, and SemVer precedence (cross-checked against the `semver` crate).

use hopsafe::credentials::CredentialPolicy;
use hopsafe::location::resolve_location;
use hopsafe::origin::Origin;
use hopsafe::redirect::{drops_body, is_followed_status, method_after_redirect};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use url::Url;

fn base() -> impl Strategy<Value = Url> {
    (
        prop_oneof![Just("http"), Just("https")],
        prop_oneof![
            Just("a.test"),
            Just("b.test"),
            Just("127.0.0.1"),
            Just("[::1]")
        ],
        proptest::option::of(1u16..65535),
        "(/[a-z0-9._~-]{0,6}){0,4}",
        proptest::option::of("[a-z]{1,5}"),
    )
        .prop_map(|(s, h, p, path, frag)| {
            let port = p.map(|p| format!(":{p}")).unwrap_or_default();
            let frag = frag.map(|f| format!("#{f}")).unwrap_or_default();
            Url::parse(&format!("{s}://{h}{port}{path}{frag}")).unwrap()
        })
}

proptest! {
    /// Any bytes at all: no panic, and a result is always an http(s) URL with a host,
    /// without credentials, that inherits the fragment when the Location has none.
    #[test]
    fn resolution_is_total_and_safe(base in base(), raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(next) = resolve_location(&base, &raw) {
            prop_assert!(next.scheme() == "http" || next.scheme() == "https");
            prop_assert!(next.host_str().is_some_and(|h| !h.is_empty()));
            prop_assert!(next.username().is_empty() && next.password().is_none());
            if !raw.contains(&b'#') {
                prop_assert_eq!(next.fragment(), base.fragment());
            }
        }
    }

    /// URL-ish Locations built from pieces resolve, stay http(s), and are idempotent:
    /// resolving the result against anything gives the result back (the fragment being
    /// inherited from the new base only when the result has none).
    #[test]
    fn absolute_results_are_fixed_points(base in base(), other in base(), rel in "[a-z0-9/._?=&% -]{0,40}") {
        if let Ok(next) = resolve_location(&base, rel.as_bytes()) {
            let again = resolve_location(&other, next.as_str().as_bytes()).unwrap();
            let mut expected = next.clone();
            if next.fragment().is_none() {
                expected.set_fragment(other.fragment());
            }
            prop_assert_eq!(again, expected);
        }
    }

    /// Whatever the headers, origins and case: a cross-origin hop leaves no sensitive
    /// header, a same-origin hop changes nothing.
    #[test]
    fn stripping_invariants(
        from in base(),
        to in base(),
        names in proptest::collection::vec(prop_oneof![
            Just("Authorization"), Just("authorization"), Just("COOKIE"), Just("Proxy-Authorization"),
            Just("x-api-key"), Just("X-Api-Key"), Just("accept"), Just("x-trace"),
        ], 0..8),
    ) {
        let mut policy = CredentialPolicy::default();
        policy.add_sensitive(HeaderName::from_static("x-api-key"));
        let mut headers = HeaderMap::new();
        for n in &names {
            headers.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_static("v"));
        }
        let before = headers.clone();
        let (fo, to_o) = (Origin::of(&from).unwrap(), Origin::of(&to).unwrap());
        let dropped = policy.strip_for_hop(&mut headers, &fo, &to_o);
        if fo == to_o {
            prop_assert_eq!(headers, before);
            prop_assert!(dropped.is_empty());
        } else {
            for s in policy.sensitive() {
                prop_assert!(!headers.contains_key(s));
            }
            for keep in ["accept", "x-trace"] {
                prop_assert_eq!(headers.get_all(keep).iter().count(), before.get_all(keep).iter().count());
            }
        }
    }

    /// The next method and whether the body goes, checked against the RFC 9110 §15.4 /
    /// Fetch table written out independently here (not derived from the functions' output).
    #[test]
    fn methods_and_bodies_follow_the_rfc_table(code in 300u16..400, m in prop_oneof![
        Just("GET"), Just("HEAD"), Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE"), Just("OPTIONS"),
    ]) {
        let status = StatusCode::from_u16(code).unwrap();
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let followed = matches!(code, 301 | 302 | 303 | 307 | 308);
        prop_assert_eq!(is_followed_status(status), followed);
        let (want, body_goes) = match (code, m) {
            (301 | 302, "POST") => ("GET", true),
            (303, "GET" | "HEAD") => (m, false),
            (303, _) => ("GET", true),
            _ => (m, false),
        };
        let next = method_after_redirect(status, &method);
        prop_assert_eq!(next.as_str(), want);
        prop_assert_eq!(drops_body(&method, &next), body_goes);
    }
}

fn semver() -> impl Strategy<Value = String> {
    let pre = proptest::collection::vec(
        prop_oneof!["[0-9]{1,2}", "[a-z]{1,3}", Just("rc".to_string())],
        0..3,
    );
    (
        0u8..12,
        0u8..12,
        0u8..12,
        pre,
        proptest::option::of("[a-z0-9]{1,4}"),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let pre: Vec<String> = pre
                .into_iter()
                .map(|p| p.trim_start_matches('0').to_string())
                .map(|p| if p.is_empty() { "0".into() } else { p })
                .collect();
            let mut v = format!("{a}.{b}.{c}");
            if !pre.is_empty() {
                v.push('-');
                v.push_str(&pre.join("."));
            }
            if let Some(b) = build {
                v.push('+');
                v.push_str(&b);
            }
            v
        })
}

proptest! {
    /// SemVer precedence is a total order: antisymmetric and transitive, build metadata
    /// ignored, a pre-release always below its release.
    #[test]
    fn version_precedence_is_a_total_order(a in semver(), b in semver(), c in semver()) {
        use hopsafe_pinning::compare_versions as cmp;
        use std::cmp::Ordering::*;
        let ab = cmp(&a, &b).unwrap();
        prop_assert_eq!(cmp(&b, &a).unwrap(), ab.reverse());
        if ab != Greater && cmp(&b, &c).unwrap() != Greater {
            prop_assert_ne!(cmp(&a, &c).unwrap(), Greater);
        }
        let release = a.split(['-', '+']).next().unwrap();
        prop_assert_ne!(cmp(&a, release).unwrap(), Greater);
        let no_build = a.split('+').next().unwrap();
        prop_assert_eq!(cmp(&a, no_build).unwrap(), Equal);
    }
}

/// Strict SemVer candidates: three numeric parts and optional pre-release and build parts,
/// drawn so that many are invalid (leading zeros, empty identifiers, bad characters).
fn strict_candidate() -> impl Strategy<Value = String> {
    let num = prop_oneof!["0", "[1-9][0-9]{0,2}", "0[0-9]{1,2}"];
    let ident = prop_oneof![
        "[0-9]{1,3}",
        "[a-zA-Z-][0-9a-zA-Z-]{0,3}",
        "[0-9][0-9a-zA-Z-]{0,3}",
        Just(String::new()),
        "[_~!]"
    ];
    let idents = proptest::collection::vec(ident, 1..4).prop_map(|v| v.join("."));
    (
        num.clone(),
        num.clone(),
        num,
        proptest::option::of(idents.clone()),
        proptest::option::of(idents),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let mut v = format!("{a}.{b}.{c}");
            if let Some(p) = pre {
                v.push('-');
                v.push_str(&p);
            }
            if let Some(b) = build {
                v.push('+');
                v.push_str(&b);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

    /// On strict inputs hopsafe's SemVer code accepts exactly what the `semver` crate accepts
    /// and orders versions by the same precedence (build metadata ignored).
    #[test]
    fn semver_agrees_with_the_semver_crate(a in strict_candidate(), b in strict_candidate()) {
        use hopsafe_pinning::{compare_versions, Version};
        for v in [&a, &b] {
            prop_assert_eq!(Version::parse(v).is_some(), semver::Version::parse(v).is_ok(), "{}", v);
        }
        if let (Ok(x), Ok(y)) = (semver::Version::parse(&a), semver::Version::parse(&b)) {
            prop_assert_eq!(compare_versions(&a, &b).unwrap(), x.cmp_precedence(&y), "{} vs {}", a, b);
        }
    }
}
