//! `Idempotency-Key` (IETF httpapi draft-ietf-httpapi-idempotency-key-header-07).
//!
//! Writes whose method is not idempotent (POST, PATCH) get a fresh UUID v4 key by default.
//! The same header value goes with every 307/308 hop and every retry; when a 301/302/303
//! turns the write into a GET the key goes with the body.
//!
//! Sending a key is not the same as the server honouring it: most servers ignore the header.
//! A key counts as honoured ([`is_honored`]) only when the caller supplied it (which says
//! the caller knows the API deduplicates) or the target origin was declared with
//! `ClientBuilder::key_honoring_origin`; only then may [`retry`](crate::retry) re-send a
//! write that may have reached the server.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::error::{Error, Result};
use crate::origin::{Origin, TrustedOrigin};

/// The header field name.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// How the key is written on the wire (`"quoted"` or `"bare"` in the serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyFormat {
    /// A Structured Field string, as the draft specifies: `Idempotency-Key: "8e03..."`.
    #[default]
    Quoted,
    /// The bare key, as Stripe-style servers expect: `Idempotency-Key: 8e03...`.
    Bare,
}

/// Client-wide idempotency settings.
#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// Generate a key for requests that have none (default true).
    pub generate: bool,
    /// Methods that get a generated key (default POST and PATCH).
    pub methods: Vec<Method>,
    /// Wire format (default [`KeyFormat::Quoted`]).
    pub format: KeyFormat,
    /// Origins declared to deduplicate by key (default none): a write that may have reached
    /// one of them is retried with its generated key. Caller-supplied keys are always trusted.
    pub honoring_origins: Vec<TrustedOrigin>,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig {
            generate: true,
            methods: vec![Method::POST, Method::PATCH],
            format: KeyFormat::Quoted,
            honoring_origins: Vec::new(),
        }
    }
}

/// The key a request carries, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedKey {
    /// The key, without the quotes of the wire format.
    pub value: String,
    /// True when the caller supplied it ([`KeyChoice::Use`] or an `Idempotency-Key`
    /// header), false when hopsafe generated it.
    pub supplied_by_caller: bool,
}

/// Whether the server at `origin` can be relied on to deduplicate by `key`: the caller
/// supplied the key, or declared the origin as honouring keys.
pub fn is_honored(config: &IdempotencyConfig, key: &AssignedKey, origin: &Origin) -> bool {
    key.supplied_by_caller || config.honoring_origins.iter().any(|o| o.matches(origin))
}

/// A request's choice, overriding the client default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyChoice {
    /// Follow the client configuration.
    #[default]
    Auto,
    /// Send no key (and never generate one).
    Off,
    /// Generate a key even if the method is not in the client's list.
    Generate,
    /// Use this key.
    Use(String),
}

/// Decides the key of a request and sets the header. Returns the key, or `None` when the
/// request carries none. A key the caller put in `headers` is kept as is.
pub fn assign_key(
    config: &IdempotencyConfig,
    choice: &KeyChoice,
    method: &Method,
    headers: &mut HeaderMap,
) -> Result<Option<AssignedKey>> {
    let mut own = Cow::Owned(std::mem::take(headers));
    // Owned headers take the key in place: nothing is left unsent.
    let key = assign_key_in(config, choice, method, &mut own, &mut None, true);
    *headers = own.into_owned();
    key
}

/// [`assign_key`] on headers that may still be shared. Shared headers are not copied for the
/// key: its header value is left in `unsent`, for the caller to add to each copy it sends
/// (owned headers take it in place). `base_has_key` says whether the shared headers
/// (`Cow::Borrowed`, the client's base headers) hold a key, decided once per client, so a
/// request that only sends them costs no header lookup; owned headers are always looked up.
pub(crate) fn assign_key_in(
    config: &IdempotencyConfig,
    choice: &KeyChoice,
    method: &Method,
    headers: &mut Cow<'_, HeaderMap>,
    unsent: &mut Option<HeaderValue>,
    base_has_key: bool,
) -> Result<Option<AssignedKey>> {
    let supplied = |value: &str| {
        Some(AssignedKey {
            value: value.to_owned(),
            supplied_by_caller: true,
        })
    };
    let may_hold_key = match headers {
        Cow::Borrowed(_) => base_has_key,
        Cow::Owned(_) => true,
    };
    if *choice == KeyChoice::Off {
        if may_hold_key && headers.contains_key(IDEMPOTENCY_KEY) {
            headers.to_mut().remove(IDEMPOTENCY_KEY);
        }
        return Ok(None);
    }
    let existing = if may_hold_key {
        headers.get(IDEMPOTENCY_KEY)
    } else {
        None
    };
    if let Some(existing) = existing {
        return Ok(supplied(unquote(existing.to_str().unwrap_or_default())));
    }
    let generate = match choice {
        KeyChoice::Use(k) => {
            let value = encode_key(k, config.format)?;
            put_key(headers, unsent, value);
            return Ok(supplied(k));
        }
        KeyChoice::Generate => true,
        KeyChoice::Auto => config.generate && config.methods.contains(method),
        KeyChoice::Off => false,
    };
    if !generate {
        return Ok(None);
    }
    let (key, value) = generated_key(config.format);
    put_key(headers, unsent, value);
    Ok(Some(AssignedKey {
        value: key,
        supplied_by_caller: false,
    }))
}

/// Writes the key's header into owned headers; leaves it in `unsent` while they are shared.
fn put_key(headers: &mut Cow<'_, HeaderMap>, unsent: &mut Option<HeaderValue>, value: HeaderValue) {
    match headers {
        Cow::Owned(own) => {
            own.insert(IDEMPOTENCY_KEY, value);
        }
        Cow::Borrowed(_) => *unsent = Some(value),
    }
}

/// A fresh key and its header value, written without the formatting machinery (this runs
/// on every write).
fn generated_key(format: KeyFormat) -> (String, HeaderValue) {
    let mut buf = [b'"'; uuid::fmt::Hyphenated::LENGTH + 2];
    let key = uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf[1..=uuid::fmt::Hyphenated::LENGTH])
        .to_owned();
    let wire = match format {
        KeyFormat::Quoted => &buf[..],
        KeyFormat::Bare => key.as_bytes(),
    };
    let value = HeaderValue::from_bytes(wire).expect("a UUID is a valid header value");
    (key, value)
}

/// A fresh random key: a UUID v4 from the operating system's CSPRNG.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Writes `key` in `format`. Keys must be printable ASCII; bare keys may not contain
/// spaces or quotes.
pub fn encode_key(key: &str, format: KeyFormat) -> Result<HeaderValue> {
    let bad = |why: &str| Error::InvalidHeader {
        name: IDEMPOTENCY_KEY.to_string(),
        reason: format!("the key ({} bytes) {why}", key.len()),
    };
    if key.is_empty() || key.len() > 255 {
        return Err(bad("must be 1 to 255 characters"));
    }
    if !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad("must be printable ASCII"));
    }
    let text = match format {
        KeyFormat::Quoted => {
            let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\"")
        }
        KeyFormat::Bare if key.contains([' ', '"', '\\', ',']) => {
            return Err(bad(
                "cannot be sent bare (space, quote, backslash or comma)",
            ))
        }
        KeyFormat::Bare => key.to_owned(),
    };
    HeaderValue::from_str(&text).map_err(|e| bad(&e.to_string()))
}

fn unquote(raw: &str) -> &str {
    raw.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_uuid_v4_in_both_formats() {
        for format in [KeyFormat::Quoted, KeyFormat::Bare] {
            let (key, value) = generated_key(format);
            let parsed = uuid::Uuid::parse_str(&key).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            let wire = value.to_str().unwrap();
            match format {
                KeyFormat::Quoted => assert_eq!(wire, format!("\"{key}\"")),
                KeyFormat::Bare => assert_eq!(wire, key),
            }
        }
        assert_ne!(
            generated_key(KeyFormat::Bare).0,
            generated_key(KeyFormat::Bare).0
        );
    }

    #[test]
    fn posts_get_a_quoted_uuid() {
        let mut h = HeaderMap::new();
        let key = assign_key(
            &IdempotencyConfig::default(),
            &KeyChoice::Auto,
            &Method::POST,
            &mut h,
        )
        .unwrap()
        .unwrap();
        assert!(!key.supplied_by_caller);
        assert_eq!(key.value.len(), 36);
        assert_eq!(h[IDEMPOTENCY_KEY], format!("\"{}\"", key.value).as_str());
    }

    #[test]
    fn gets_and_puts_get_none_by_default() {
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let mut h = HeaderMap::new();
            let cfg = IdempotencyConfig::default();
            assert_eq!(
                assign_key(&cfg, &KeyChoice::Auto, &m, &mut h).unwrap(),
                None
            );
            assert!(h.is_empty());
        }
    }

    #[test]
    fn user_keys_and_formats() {
        let mut h = HeaderMap::new();
        let cfg = IdempotencyConfig {
            format: KeyFormat::Bare,
            ..Default::default()
        };
        let k = assign_key(&cfg, &KeyChoice::Use("abc".into()), &Method::PUT, &mut h).unwrap();
        assert_eq!(k.as_ref().map(|k| k.value.as_str()), Some("abc"));
        assert!(k.unwrap().supplied_by_caller);
        assert_eq!(h[IDEMPOTENCY_KEY], "abc");
        assert!(encode_key("a b", KeyFormat::Bare).is_err());
        assert_eq!(encode_key("a\"b", KeyFormat::Quoted).unwrap(), "\"a\\\"b\"");
        assert!(encode_key("é", KeyFormat::Quoted).is_err());
        assert!(encode_key("", KeyFormat::Quoted).is_err());
    }

    #[test]
    fn only_caller_keys_and_declared_origins_count_as_honoured() {
        let origin = |u: &str| Origin::of(&url::Url::parse(u).unwrap()).unwrap();
        let mut cfg = IdempotencyConfig::default();
        let generated = AssignedKey {
            value: "k".into(),
            supplied_by_caller: false,
        };
        let supplied = AssignedKey {
            supplied_by_caller: true,
            ..generated.clone()
        };
        let api = origin("https://api.example.com");
        assert!(!is_honored(&cfg, &generated, &api));
        assert!(is_honored(&cfg, &supplied, &api));
        cfg.honoring_origins
            .push(TrustedOrigin::parse("https://*.example.com").unwrap());
        assert!(is_honored(&cfg, &generated, &api));
        assert!(!is_honored(
            &cfg,
            &generated,
            &origin("http://api.example.com")
        ));
    }

    #[test]
    fn off_removes_and_header_wins() {
        let cfg = IdempotencyConfig::default();
        let mut h = HeaderMap::new();
        h.insert(IDEMPOTENCY_KEY, "\"mine\"".parse().unwrap());
        let k = assign_key(&cfg, &KeyChoice::Auto, &Method::POST, &mut h).unwrap();
        assert_eq!(
            k,
            Some(AssignedKey {
                value: "mine".into(),
                supplied_by_caller: true
            })
        );
        assert_eq!(
            assign_key(&cfg, &KeyChoice::Off, &Method::POST, &mut h).unwrap(),
            None
        );
        assert!(h.is_empty());
    }
}
