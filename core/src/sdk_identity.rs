//! Who is calling: the SDK identity every request carries, so servers can pin a minimum
//! version for write paths, and the typed refusal they answer with.
//!
//! Two headers go with every hop and retry:
//!
//! - `User-Agent`: a product list, `acme-python/2.4.0 hopsafe/0.1.0 python/3.11.7 (linux; x86_64)`.
//!   A `User-Agent` the caller set is kept and extended, never replaced.
//! - `Client-SDK`: a Structured Field dictionary (RFC 8941),
//!   `n="acme-python", v="2.4.0", c="0.1.0", l=python`:
//!
//!   | key | type | meaning |
//!   |-----|------|---------|
//!   | `n` | sf-string | SDK name chosen by the vendor embedding hopsafe |
//!   | `v` | sf-string | SDK version (SemVer) |
//!   | `c` | sf-string | hopsafe core version |
//!   | `l` | sf-token  | language: `rust`, `python`, `node`, `kotlin`, `swift` |
//!
//! A refusal is `426` with an RFC 9457 `application/problem+json` body whose `type` is
//! [`UPGRADE_REQUIRED_TYPE`] and which carries `minimum_version` and `current_version`.
//! It is recognised by that `type` only (never by an `Upgrade` header, which HTTP/2 forbids)
//! and becomes [`Error::UpgradeRequired`]. It is never retried or redirected.

use http::HeaderValue;

use crate::error::{Error, Result};

pub use hopsafe_sdk_header::{CLIENT_SDK, UPGRADE_REQUIRED_TYPE};

/// The identity of the SDK a client belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkIdentity {
    /// SDK name, e.g. `acme-python` (default `hopsafe`).
    pub name: String,
    /// SDK version, e.g. `2.4.0` (default the core version).
    pub version: String,
    /// Language token: `rust`, `python`, `node`, `kotlin`, `swift`.
    pub language: String,
    /// Runtime and its version, e.g. `python/3.11.7` (optional).
    pub runtime: Option<String>,
}

impl Default for SdkIdentity {
    fn default() -> Self {
        SdkIdentity {
            name: "hopsafe".into(),
            version: crate::VERSION.into(),
            language: "rust".into(),
            runtime: None,
        }
    }
}

impl SdkIdentity {
    /// Checks the fields: name and version are 1-64 printable ASCII characters without
    /// spaces, quotes or backslashes; language is a lower-case token.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: &str| {
            Error::invalid_config(format!("SDK {what} {v:?} is not valid: use 1-64 printable ASCII characters without spaces, quotes, slashes or backslashes"))
        };
        for (what, v) in [("name", &self.name), ("version", &self.version)] {
            if v.is_empty()
                || v.len() > 64
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"\"\\/()".contains(&b))
            {
                return Err(bad(what, v));
            }
        }
        let token_ok = !self.language.is_empty()
            && self.language.len() <= 32
            && self.language.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .language
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !token_ok {
            return Err(bad("language", &self.language));
        }
        if let Some(rt) = &self.runtime {
            if rt.is_empty() || !rt.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
                return Err(bad("runtime", rt));
            }
        }
        Ok(())
    }

    /// The `Client-SDK` header value.
    pub fn client_sdk_header(&self) -> HeaderValue {
        let v =
            hopsafe_sdk_header::format(&self.name, &self.version, crate::VERSION, &self.language);
        HeaderValue::from_str(&v).expect("validated identity is a valid header value")
    }

    /// The product list appended to `User-Agent`.
    pub fn user_agent_products(&self) -> String {
        let mut ua = String::new();
        if self.name != "hopsafe" {
            ua.push_str(&format!("{}/{} ", self.name, self.version));
        }
        ua.push_str(&format!("hopsafe/{}", crate::VERSION));
        if let Some(rt) = &self.runtime {
            ua.push(' ');
            ua.push_str(rt);
        }
        ua.push_str(&format!(
            " ({}; {})",
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
        ua
    }

    /// `User-Agent` for a request: the caller's value (if any) extended with our products.
    pub fn user_agent(&self, callers: Option<&HeaderValue>) -> HeaderValue {
        let ours = self.user_agent_products();
        let text = match callers.and_then(|v| v.to_str().ok()) {
            Some(theirs) if !theirs.trim().is_empty() => format!("{} {ours}", theirs.trim()),
            _ => ours,
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| {
            HeaderValue::from_str(&self.user_agent_products()).expect("ASCII products")
        })
    }
}

/// The identity headers of one client, rendered once when it is built (not per request).
#[derive(Debug, Clone)]
pub(crate) struct IdentityHeaders {
    products: String,
    user_agent: HeaderValue,
    client_sdk: HeaderValue,
}

impl IdentityHeaders {
    /// Renders `id`, with the client's own `User-Agent` prefix if it has one.
    pub(crate) fn new(id: &SdkIdentity, client_user_agent: Option<&HeaderValue>) -> Self {
        IdentityHeaders {
            products: id.user_agent_products(),
            user_agent: id.user_agent(client_user_agent),
            client_sdk: id.client_sdk_header(),
        }
    }

    /// Sets `User-Agent` (a per-request value is kept and extended) and `Client-SDK`.
    pub(crate) fn apply(&self, headers: &mut http::HeaderMap) {
        let ua = match headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            Some(theirs) if !theirs.trim().is_empty() => {
                HeaderValue::from_str(&format!("{} {}", theirs.trim(), self.products))
                    .unwrap_or_else(|_| self.user_agent.clone())
            }
            _ => self.user_agent.clone(),
        };
        headers.insert(http::header::USER_AGENT, ua);
        if !headers.contains_key(CLIENT_SDK) {
            headers.insert(CLIENT_SDK, self.client_sdk.clone());
        }
    }
}

/// Problem documents larger than this are not inspected (the response is returned whole).
pub(crate) const PROBLEM_BODY_LIMIT: usize = 64 * 1024;

/// Whether a response may be a version refusal: `426` with an `application/problem+json`
/// body, whose `type` [`upgrade_required`] then checks.
pub(crate) fn may_be_refusal(status: http::StatusCode, headers: &http::HeaderMap) -> bool {
    status == http::StatusCode::UPGRADE_REQUIRED
        && headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/problem+json")
            })
}

/// Reads a `426` problem body; returns the typed error when it is a hopsafe version refusal.
pub(crate) fn upgrade_required(body: &[u8], sdk: &SdkIdentity, url: &str) -> Option<Error> {
    let problem: serde_json::Value = serde_json::from_slice(body).ok()?;
    if problem.get("type")?.as_str()? != UPGRADE_REQUIRED_TYPE {
        return None;
    }
    let field = |k: &str| problem.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Error::UpgradeRequired {
        sdk: field("sdk").unwrap_or_else(|| sdk.name.clone()),
        minimum_version: field("minimum_version").unwrap_or_default(),
        current_version: field("current_version").unwrap_or_else(|| sdk.version.clone()),
        url: url.to_owned(),
        history: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> SdkIdentity {
        SdkIdentity {
            name: "acme-python".into(),
            version: "2.4.0".into(),
            language: "python".into(),
            runtime: Some("cpython/3.11.7".into()),
        }
    }

    #[test]
    fn headers() {
        let id = acme();
        id.validate().unwrap();
        assert_eq!(
            id.client_sdk_header(),
            format!(
                "n=\"acme-python\", v=\"2.4.0\", c=\"{}\", l=python",
                crate::VERSION
            )
            .as_str()
        );
        let ua = id.user_agent(Some(&HeaderValue::from_static("myapp/1.0")));
        let ua = ua.to_str().unwrap();
        assert!(
            ua.starts_with("myapp/1.0 acme-python/2.4.0 hopsafe/"),
            "{ua}"
        );
        assert!(ua.contains("cpython/3.11.7 ("), "{ua}");
    }

    #[test]
    fn invalid_identities_are_refused() {
        for bad in [
            SdkIdentity {
                name: "a b".into(),
                ..acme()
            },
            SdkIdentity {
                version: "\"1".into(),
                ..acme()
            },
            SdkIdentity {
                language: "Py thon".into(),
                ..acme()
            },
            SdkIdentity {
                name: String::new(),
                ..acme()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusals_are_recognised_by_type_only() {
        let id = acme();
        let body = format!(
            r#"{{"type":"{UPGRADE_REQUIRED_TYPE}","title":"Upgrade","minimum_version":"2.5.0","current_version":"2.4.0"}}"#
        );
        match upgrade_required(body.as_bytes(), &id, "http://x/") {
            Some(Error::UpgradeRequired {
                minimum_version,
                current_version,
                ..
            }) => {
                assert_eq!(minimum_version, "2.5.0");
                assert_eq!(current_version, "2.4.0");
            }
            other => panic!("{other:?}"),
        }
        assert!(upgrade_required(br#"{"type":"about:blank"}"#, &id, "x").is_none());
        assert!(upgrade_required(b"not json", &id, "x").is_none());
    }
}
