//! Reading the caller's identity: the `Client-SDK` Structured Field dictionary (RFC 9651,
//! parsed by the `sfv` crate), or else the first `name/version` product of `User-Agent`.

use http::HeaderMap;
use sfv::{BareItem, Dictionary, Item, ListEntry};

use crate::CLIENT_SDK;

/// Who a request says it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// SDK name (`n`).
    pub name: String,
    /// SDK version (`v`).
    pub version: String,
    /// hopsafe core version (`c`), when given.
    pub core_version: Option<String>,
    /// Language token (`l`), when given.
    pub language: Option<String>,
    /// Where it was read from.
    pub source: IdentitySource,
}

/// Which header carried the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// `Client-SDK`.
    ClientSdk,
    /// `User-Agent` (fallback).
    UserAgent,
}

/// Why an identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// Neither header is there (or the User-Agent names no product with a version).
    Missing,
    /// `Client-SDK` is not a valid dictionary, or lacks `n`/`v`.
    Malformed(String),
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityError::Missing => {
                f.write_str("no Client-SDK header and no product/version in User-Agent")
            }
            IdentityError::Malformed(why) => write!(f, "malformed Client-SDK header: {why}"),
        }
    }
}

/// Reads the identity of a request. Every `Client-SDK` field line counts: they are combined
/// into one comma-separated value before parsing, as RFC 9651 §4.2 requires.
pub fn client_identity(headers: &HeaderMap) -> Result<ClientIdentity, IdentityError> {
    let mut lines = headers.get_all(CLIENT_SDK).iter().peekable();
    if lines.peek().is_some() {
        let mut combined = Vec::new();
        for (i, line) in lines.enumerate() {
            if i > 0 {
                combined.extend_from_slice(b", ");
            }
            combined.extend_from_slice(line.as_bytes());
        }
        return parse_client_sdk_bytes(&combined);
    }
    let ua = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .ok_or(IdentityError::Missing)?;
    ua.split_whitespace()
        .filter_map(|p| p.split_once('/'))
        .find(|(n, v)| !n.is_empty() && !v.is_empty() && *n != "hopsafe" && !n.starts_with('('))
        .map(|(n, v)| ClientIdentity {
            name: n.to_owned(),
            version: v.to_owned(),
            core_version: None,
            language: None,
            source: IdentitySource::UserAgent,
        })
        .ok_or(IdentityError::Missing)
}

/// Parses one `Client-SDK` value, an RFC 9651 dictionary such as
/// `n="acme-python", v="2.4.0", c="0.1.0", l=python`: `n`, `v` and `c` must be sf-strings,
/// `l` an sf-token; unknown keys and all parameters are ignored.
pub fn parse_client_sdk(text: &str) -> Result<ClientIdentity, IdentityError> {
    parse_client_sdk_bytes(text.as_bytes())
}

fn parse_client_sdk_bytes(bytes: &[u8]) -> Result<ClientIdentity, IdentityError> {
    let dict: Dictionary = sfv::Parser::new(bytes)
        .parse()
        .map_err(|e| IdentityError::Malformed(e.to_string()))?;
    let string = |k: &str, what: &str| -> Result<Option<String>, IdentityError> {
        match dict.get(k) {
            None => Ok(None),
            Some(ListEntry::Item(Item {
                bare_item: BareItem::String(s),
                ..
            })) => Ok(Some(s.as_str().to_owned())),
            Some(_) => Err(IdentityError::Malformed(format!(
                "{what} ({k}) must be a string"
            ))),
        }
    };
    let need = |k: &str, what: &str| {
        string(k, what)?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| IdentityError::Malformed(format!("no {what} ({k})")))
    };
    let language = match dict.get("l") {
        None => None,
        Some(ListEntry::Item(Item {
            bare_item: BareItem::Token(t),
            ..
        })) => Some(t.as_str().to_owned()),
        Some(_) => {
            return Err(IdentityError::Malformed(
                "language (l) must be a token".into(),
            ))
        }
    };
    Ok(ClientIdentity {
        name: need("n", "SDK name")?,
        version: need("v", "SDK version")?,
        core_version: string("c", "core version")?,
        language,
        source: IdentitySource::ClientSdk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_client_sends() {
        let header = crate::format("acme-python", "2.4.0-rc.1", "0.1.0", "python");
        let parsed = parse_client_sdk(&header).unwrap();
        assert_eq!(
            (parsed.name.as_str(), parsed.version.as_str()),
            ("acme-python", "2.4.0-rc.1")
        );
        assert_eq!(parsed.language.as_deref(), Some("python"));
        assert_eq!(parsed.core_version.as_deref(), Some("0.1.0"));
    }

    #[test]
    fn tolerates_and_refuses() {
        let ok = parse_client_sdk(r#"v="1.0";x=1, n="a\"b", z, extra=?1"#).unwrap();
        assert_eq!(ok.name, "a\"b");
        for bad in [
            "n=a, v=\"1\"",
            "n=\"a\", v=-2.5",
            "n=\"a\", v=2",
            "n=\"a\", v=\"1\", c=1",
            "n=\"a\", v=\"1\", l=\"python\"",
            "n=:YQ==:, v=\"1\"",
            "",
            "n=\"a\"",
            "n=\"a\", ",
            "N=\"a\", v=\"1\"",
            "n=\"a, v=\"1\"",
            "n=(a), v=\"1\"",
            "n=\"a\" v=\"1\"",
            "n=\"a\", v=2.4.0",
            "n=\"a\", v=1.",
            "n=\"a\", v=-",
        ] {
            assert!(parse_client_sdk(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_field_line_counts() {
        let lines = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(CLIENT_SDK, v.parse().unwrap());
            }
            client_identity(&h)
        };
        let split = lines(&["n=\"a\"", "v=\"1.0\""]).unwrap();
        assert_eq!((split.name.as_str(), split.version.as_str()), ("a", "1.0"));
        let later = lines(&["n=\"a\", v=\"1.0\"", "v=\"2.0\""]).unwrap();
        assert_eq!(
            later.version, "2.0",
            "a later member overrides an earlier one"
        );
        assert!(lines(&["n=\"a\", v=\"1.0\"", "v=2.0"]).is_err());
        assert!(lines(&["n=\"a\", v=\"1.0\"", "(x)"]).is_err());
    }

    #[test]
    fn falls_back_to_the_user_agent() {
        let mut h = HeaderMap::new();
        h.insert(
            "user-agent",
            "hopsafe/0.1.0 acme-node/3.1.0 node/20.1.0 (linux; x86_64)"
                .parse()
                .unwrap(),
        );
        let id = client_identity(&h).unwrap();
        assert_eq!(
            (id.name.as_str(), id.version.as_str(), id.source),
            ("acme-node", "3.1.0", IdentitySource::UserAgent)
        );
        assert_eq!(
            client_identity(&HeaderMap::new()),
            Err(IdentityError::Missing)
        );
    }
}
