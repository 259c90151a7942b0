//! `Client-SDK` parsing (a server reads it from untrusted clients) against the published
//! Structured Field test vectors, plus differential properties against `sfv` itself and
//! against the client's own serializer.
//!
//! Vectors: `tests/data/structured-field-tests.json`, data taken from
//! <https://github.com/httpwg/structured-field-tests> (its `source` field names the files and
//! commits).

use hopsafe::sdk_identity::SdkIdentity;
use hopsafe_pinning::{client_identity, parse_client_sdk, ClientIdentity, IdentityError};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::Value;

fn vectors(kind: &str) -> Vec<Value> {
    let text = include_str!("data/structured-field-tests.json");
    let all: Value = serde_json::from_str(text).expect("vectors are JSON");
    all[kind].as_array().expect("a list of vectors").clone()
}

fn raw_lines(v: &Value) -> Vec<String> {
    v["raw"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// Sends `lines` as separate `Client-SDK` field lines, the way a server receives them.
fn identity(lines: &[String]) -> Result<ClientIdentity, IdentityError> {
    let mut h = HeaderMap::new();
    for l in lines {
        h.append("client-sdk", HeaderValue::from_bytes(l.as_bytes()).unwrap());
    }
    client_identity(&h)
}

/// Every dictionary vector, as extra field lines before a valid `n`/`v` line: an invalid
/// vector makes the whole field invalid (the lines are one dictionary), a valid one leaves the
/// identity readable unless it sets `c` to a non-string or `l` to a non-token.
#[test]
fn dictionary_vectors() {
    let mut checked = 0;
    for v in vectors("dictionary") {
        let name = v["name"].as_str().unwrap();
        let mut lines = raw_lines(&v);
        if lines.iter().any(|l| l.trim().is_empty()) {
            // An empty line joined to others leaves an empty list member (RFC 9651 §4.2:
            // lines are joined with ", "), so it cannot be combined with ours.
            continue;
        }
        lines.push(r#"n="sdk", v="1.0""#.into());
        let got = identity(&lines);
        if v["must_fail"].as_bool() == Some(true) {
            assert!(got.is_err(), "{name}: accepted {lines:?}");
        } else {
            let expected = &v["expected"];
            let c_bad = expected.get("c").is_some_and(|c| !c[0].is_string());
            let l_bad = expected.get("l").is_some();
            if c_bad || l_bad {
                assert!(got.is_err(), "{name}: wrong-typed c/l accepted");
            } else {
                let id = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!((id.name.as_str(), id.version.as_str()), ("sdk", "1.0"));
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} vectors ran");
}

/// Every string vector as the SDK name: must-fail vectors are refused, the others read back
/// exactly (an empty name is refused: the name is required).
#[test]
fn string_vectors_as_the_name() {
    for v in vectors("string") {
        let name = v["name"].as_str().unwrap();
        let raw = &raw_lines(&v)[0];
        let got = parse_client_sdk(&format!(r#"n={raw}, v="1""#));
        match v["expected"][0].as_str() {
            None => assert!(got.is_err(), "{name}: accepted {raw:?}"),
            Some("") => assert!(got.is_err(), "{name}: empty name accepted"),
            Some(want) => assert_eq!(got.unwrap().name, want, "{name}"),
        }
    }
}

/// Every token vector as the language; a token is never accepted where a string is due.
#[test]
fn token_vectors_as_the_language() {
    for v in vectors("token") {
        let name = v["name"].as_str().unwrap();
        let raw = &raw_lines(&v)[0];
        let want = v["expected"][0]["value"].as_str().unwrap();
        let id = parse_client_sdk(&format!(r#"n="a", v="1", l={raw}"#)).unwrap();
        assert_eq!(id.language.as_deref(), Some(want), "{name}");
        for key in ["n", "v", "c"] {
            let text = format!(r#"n="a", v="1", {key}={raw}"#);
            assert!(parse_client_sdk(&text).is_err(), "{name}: token as {key}");
        }
    }
}

/// What the old hand-written parser got wrong: numbers and tokens where strings are due,
/// strings where a token is due, and every field line after the first ignored.
#[test]
fn strictness_the_old_parser_lacked() {
    for bad in [
        "n=acme, v=\"1.0\"",
        "n=\"acme\", v=2",
        "n=\"acme\", v=2.5",
        "n=\"acme\", v=\"1\", c=0.1",
        "n=\"acme\", v=\"1\", l=\"python\"",
        "n=\"acme\", v=?1",
    ] {
        assert!(parse_client_sdk(bad).is_err(), "{bad}");
    }
    let lines = ["n=\"acme\"".to_string(), "v=\"2.0\"".to_string()];
    let id = identity(&lines).expect("v on the second line counts");
    assert_eq!(id.version, "2.0");
    let lines = ["n=\"acme\", v=\"2.0\"".to_string(), "v=(1)".to_string()];
    assert!(identity(&lines).is_err(), "an invalid later line is seen");
}

fn sf_string() -> impl Strategy<Value = String> {
    // Printable ASCII, the sf-string alphabet, quotes and backslashes included.
    proptest::collection::vec(0x20u8..0x7f, 0..12).prop_map(|b| String::from_utf8(b).unwrap())
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `n`, `v`, `c` and `l` as `sfv` serializes them.
fn sfv_header(name: &str, version: &str, language: &str) -> String {
    use sfv::{DictSerializer, KeyRef, StringRef, TokenRef};
    let key = |k| KeyRef::from_str(k).unwrap();
    let mut ser = DictSerializer::new();
    let _ = ser.bare_item(key("n"), StringRef::from_str(name).unwrap());
    let _ = ser.bare_item(key("v"), StringRef::from_str(version).unwrap());
    let _ = ser.bare_item(key("c"), StringRef::from_str(hopsafe::VERSION).unwrap());
    let _ = ser.bare_item(key("l"), TokenRef::from_str(language).unwrap());
    ser.finish().unwrap()
}

proptest! {
    /// Differential: for dictionary-like text (every member type, good and bad keys, separators
    /// and parameters, trailing noise), `parse_client_sdk` succeeds exactly when `sfv` parses a
    /// dictionary whose `n`/`v` are non-empty strings, `c` absent or a string and `l` absent
    /// or a token, and then returns those values.
    #[test]
    fn agrees_with_sfv_on_any_text(
        members in proptest::collection::vec((
            prop_oneof![4 => Just("n"), 4 => Just("v"), 2 => Just("c"), 2 => Just("l"), 1 => Just("a"), 1 => Just("N"), 1 => Just("1x"), 1 => Just("n ")],
            prop_oneof![
                6 => sf_string().prop_map(|s| format!("={}", quoted(&s))),
                2 => "=[a-zA-Z*][a-zA-Z0-9:/._*-]{0,5}",
                1 => "=-?[0-9]{1,3}(\\.[0-9]{1,3})?",
                1 => prop_oneof![Just("=?0"), Just("=?1"), Just(""), Just("=(a \"b\")"), Just("=:YQ==:"), Just("=@1"), Just("=%\"x\""), Just("= \"x\""), Just("=\"x")].prop_map(String::from),
            ],
            prop_oneof![4 => Just(""), 1 => Just(";p=1"), 1 => Just(";q"), 1 => Just("; p=\"x\""), 1 => Just(";P=1")],
            prop_oneof![6 => Just(", "), 2 => Just(","), 1 => Just(" ,\t"), 1 => Just(",,"), 1 => Just(" "), 1 => Just("\n")],
        ), 1..6),
        noise in proptest::option::weighted(0.2, "[ -~]{1,2}"),
    ) {
        let mut text = String::new();
        for (i, (key, value, params, sep)) in members.iter().enumerate() {
            if i > 0 {
                text.push_str(sep);
            }
            text.push_str(key);
            text.push_str(value);
            text.push_str(params);
        }
        text.push_str(noise.as_deref().unwrap_or_default());
        use sfv::{BareItem, Dictionary, Item, ListEntry};
        let ours = parse_client_sdk(&text);
        let theirs: Result<Dictionary, _> = sfv::Parser::new(&text).parse();
        let string = |d: &Dictionary, k: &str| match d.get(k) {
            None => Some(None),
            Some(ListEntry::Item(Item { bare_item: BareItem::String(s), .. })) => Some(Some(s.as_str().to_owned())),
            Some(_) => None,
        };
        let expected = theirs.ok().and_then(|d| {
            let n = string(&d, "n")?.filter(|s| !s.is_empty())?;
            let v = string(&d, "v")?.filter(|s| !s.is_empty())?;
            let c = string(&d, "c")?;
            let l = match d.get("l") {
                None => None,
                Some(ListEntry::Item(Item { bare_item: BareItem::Token(t), .. })) => Some(t.as_str().to_owned()),
                Some(_) => return None,
            };
            Some((n, v, c, l))
        });
        match (ours, expected) {
            (Ok(id), Some((n, v, c, l))) => {
                prop_assert_eq!(id.name, n);
                prop_assert_eq!(id.version, v);
                prop_assert_eq!(id.core_version, c);
                prop_assert_eq!(id.language, l);
            }
            (Err(_), None) => {}
            (ours, expected) => prop_assert!(false, "{text:?}: ours {ours:?}, sfv {expected:?}"),
        }
    }

    /// Differential against the client: the header every SDK sends is exactly what `sfv`
    /// serializes for the same values, and reads back as those values.
    #[test]
    fn the_client_header_is_canonical(
        name in "[a-z][a-z0-9._-]{0,20}",
        version in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-[a-z0-9.]{1,6})?(\\+[a-z0-9]{1,4})?",
        language in prop_oneof![Just("rust"), Just("python"), Just("node"), Just("kotlin"), Just("swift")],
    ) {
        let id = SdkIdentity { name: name.clone(), version: version.clone(), language: language.into(), runtime: None };
        prop_assume!(id.validate().is_ok());
        let sent = id.client_sdk_header();
        prop_assert_eq!(sent.to_str().unwrap(), sfv_header(&name, &version, language));
        let back = parse_client_sdk(sent.to_str().unwrap()).unwrap();
        prop_assert_eq!((back.name, back.version, back.language.as_deref()), (name, version, Some(language)));
    }
}
