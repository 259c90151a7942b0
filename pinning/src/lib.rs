//! Server side of SDK identity: minimum-version pinning for write paths. A crate of its own,
//! so the hopsafe client pulls neither `toml` nor tower; the `Client-SDK` header codec both
//! use is `hopsafe-sdk-header`.
//!
//! A [`Policy`] names minimum versions per SDK, optionally only for writes (POST, PUT, PATCH,
//! DELETE) and only under a path prefix. [`Policy::evaluate`] reads the caller's identity
//! (`Client-SDK`, else `User-Agent`) and answers [`Decision::Allow`] or a ready-made
//! [`Denial`]: `426` with an RFC 9457 problem whose `type` is
//! [`UPGRADE_REQUIRED_TYPE`], which every hopsafe SDK
//! turns into a typed `UpgradeRequired` error.
//!
//! Policy files (JSON or TOML):
//!
//! ```toml
//! unknown = "deny_writes"          # allow | deny_writes | deny_all
//! [[rules]]
//! sdk = "acme-python"
//! minimum = "2.5.0"
//! methods = "writes"               # all (default) | writes
//! path_prefix = "/v1/"             # optional
//! ```
//!
//! The most specific matching rule wins: the longest `path_prefix`, then `writes` over `all`
//! (among equals, the first listed). A request no rule matches is allowed whatever its version.
//!
//! Refusals (`Denial`, body `application/problem+json`):
//!
//! | case | status | `type` |
//! |---|---|---|
//! | version below the matching rule's minimum (pre-releases sort below their release) | 426 | [`UPGRADE_REQUIRED_TYPE`] |
//! | no identity at all, and `unknown` refuses it | 426 | [`IDENTITY_REQUIRED_TYPE`] |
//! | malformed `Client-SDK`, or a pinned SDK whose version is not SemVer, and `unknown` refuses it | 400 | [`IDENTITY_MALFORMED_TYPE`] |

#[cfg(feature = "tower")]
mod layer;
mod version;

use std::path::Path;

use http::{HeaderMap, Method};
use serde::Deserialize;

pub use hopsafe_sdk_header::{
    client_identity, parse_client_sdk, ClientIdentity, IdentityError, IdentitySource,
    IDENTITY_MALFORMED_TYPE, IDENTITY_REQUIRED_TYPE, UPGRADE_REQUIRED_TYPE,
};
#[cfg(feature = "tower")]
pub use layer::{PinningLayer, PinningService};
pub use version::{compare_versions, Version};

/// Which methods a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodClass {
    /// Every method.
    #[default]
    All,
    /// POST, PUT, PATCH and DELETE.
    Writes,
}

/// What to do with requests whose identity is missing or malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownIdentity {
    /// Let them through.
    #[default]
    Allow,
    /// Refuse writes only.
    DenyWrites,
    /// Refuse everything.
    DenyAll,
}

/// A minimum version for one SDK.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// SDK name, as sent in `Client-SDK` `n`.
    pub sdk: String,
    /// Lowest allowed version (SemVer).
    pub minimum: String,
    /// Methods covered (default all).
    #[serde(default)]
    pub methods: MethodClass,
    /// Only paths starting with this (default every path).
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// A pinning policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Minimum versions.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Missing or malformed identities.
    #[serde(default)]
    pub unknown: UnknownIdentity,
}

/// A policy that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("pinning policy: {0}")]
pub struct PolicyError(String);

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let it through.
    Allow,
    /// Refuse it with this response.
    Deny(Denial),
}

/// A refusal, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// 426 (too old or no identity) or 400 (malformed identity).
    pub status: u16,
    /// The problem `type` URI.
    pub problem_type: &'static str,
    /// Human-readable reason.
    pub detail: String,
    /// SDK name, when known.
    pub sdk: Option<String>,
    /// The minimum version that applies, when the SDK is too old.
    pub minimum_version: Option<String>,
    /// The version the caller sent, when known.
    pub current_version: Option<String>,
}

impl Denial {
    /// The RFC 9457 `application/problem+json` body.
    pub fn problem_json(&self) -> String {
        let title = match self.problem_type {
            UPGRADE_REQUIRED_TYPE => "SDK upgrade required",
            IDENTITY_REQUIRED_TYPE => "SDK identity required",
            _ => "Malformed SDK identity",
        };
        let mut v = serde_json::json!({
            "type": self.problem_type, "title": title, "status": self.status, "detail": self.detail,
        });
        for (k, val) in [
            ("sdk", &self.sdk),
            ("minimum_version", &self.minimum_version),
            ("current_version", &self.current_version),
        ] {
            if let Some(val) = val {
                v[k] = serde_json::json!(val);
            }
        }
        v.to_string()
    }

    /// The complete response.
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        let mut resp = http::Response::new(B::from(self.problem_json()));
        *resp.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::BAD_REQUEST);
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/problem+json"),
        );
        resp
    }
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

impl Policy {
    /// Parses and validates a JSON policy.
    pub fn from_json_str(text: &str) -> Result<Policy, PolicyError> {
        serde_json::from_str::<Policy>(text)
            .map_err(|e| PolicyError(e.to_string()))?
            .validated()
    }

    /// Parses and validates a TOML policy.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        toml::from_str::<Policy>(text)
            .map_err(|e| PolicyError(e.to_string()))?
            .validated()
    }

    /// Loads a `.json` or `.toml` file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError(format!("{}: {e}", path.display())))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json_str(&text),
            Some("toml") => Self::from_toml_str(&text),
            _ => Err(PolicyError(format!(
                "{}: use a .json or .toml file",
                path.display()
            ))),
        }
    }

    fn validated(self) -> Result<Policy, PolicyError> {
        for r in &self.rules {
            if r.sdk.is_empty() {
                return Err(PolicyError("a rule has an empty sdk name".into()));
            }
            if Version::parse(&r.minimum).is_none() {
                return Err(PolicyError(format!(
                    "rule for {}: {:?} is not a SemVer version",
                    r.sdk, r.minimum
                )));
            }
        }
        Ok(self)
    }

    /// Decides one request.
    pub fn evaluate(&self, method: &Method, path: &str, headers: &HeaderMap) -> Decision {
        let write = is_write(method);
        let id = match client_identity(headers) {
            Ok(id) => id,
            Err(e) => return self.unknown_identity(write, &e, None),
        };
        let Some(rule) = self
            .rules
            .iter()
            .rev() // `max_by_key` keeps the last of equals: the first listed wins
            .filter(|r| r.sdk == id.name)
            .filter(|r| r.methods == MethodClass::All || write)
            .filter(|r| r.path_prefix.as_deref().is_none_or(|p| path.starts_with(p)))
            .max_by_key(|r| {
                (
                    r.path_prefix.as_deref().map_or(0, str::len),
                    r.methods == MethodClass::Writes,
                )
            })
        else {
            // Not pinned here: the version does not matter (and need not be SemVer).
            return Decision::Allow;
        };
        let Some(current) = Version::parse(&id.version) else {
            let e = IdentityError::Malformed(format!("version {:?} is not SemVer", id.version));
            return self.unknown_identity(write, &e, Some(&id));
        };
        match Version::parse(&rule.minimum) {
            Some(min) if current < min => Decision::Deny(Denial {
                status: 426,
                problem_type: UPGRADE_REQUIRED_TYPE,
                detail: format!(
                    "{} {} is below the minimum {} for {method} {path}",
                    id.name, id.version, rule.minimum
                ),
                sdk: Some(id.name),
                minimum_version: Some(rule.minimum.clone()),
                current_version: Some(id.version),
            }),
            _ => Decision::Allow,
        }
    }

    fn unknown_identity(
        &self,
        write: bool,
        e: &IdentityError,
        id: Option<&ClientIdentity>,
    ) -> Decision {
        let deny = match self.unknown {
            UnknownIdentity::Allow => false,
            UnknownIdentity::DenyWrites => write,
            UnknownIdentity::DenyAll => true,
        };
        if !deny {
            return Decision::Allow;
        }
        let (status, problem_type) = match e {
            IdentityError::Missing => (426, IDENTITY_REQUIRED_TYPE),
            IdentityError::Malformed(_) => (400, IDENTITY_MALFORMED_TYPE),
        };
        Decision::Deny(Denial {
            status,
            problem_type,
            detail: e.to_string(),
            sdk: id.map(|i| i.name.clone()),
            minimum_version: None,
            current_version: id.map(|i| i.version.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(sdk: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("client-sdk", sdk.parse().unwrap());
        h
    }

    fn policy() -> Policy {
        Policy::from_toml_str(
            r#"
            unknown = "deny_writes"
            [[rules]]
            sdk = "acme"
            minimum = "2.5.0"
            methods = "writes"
            path_prefix = "/v1/"
            [[rules]]
            sdk = "acme"
            minimum = "1.0.0"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn old_writes_are_denied_reads_allowed() {
        let p = policy();
        let old = headers(r#"n="acme", v="2.4.0""#);
        match p.evaluate(&Method::POST, "/v1/orders", &old) {
            Decision::Deny(d) => {
                assert_eq!(d.status, 426);
                let v: serde_json::Value = serde_json::from_str(&d.problem_json()).unwrap();
                assert_eq!(v["type"], UPGRADE_REQUIRED_TYPE);
                assert_eq!(v["minimum_version"], "2.5.0");
                assert_eq!(v["current_version"], "2.4.0");
            }
            Decision::Allow => panic!("2.4.0 must be denied"),
        }
        assert_eq!(
            p.evaluate(&Method::GET, "/v1/orders", &old),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(&Method::POST, "/v2/orders", &old),
            Decision::Allow
        );
        for ok in ["2.5.0", "2.10.0", "3.0.0-alpha"] {
            let h = headers(&format!(r#"n="acme", v="{ok}""#));
            assert_eq!(
                p.evaluate(&Method::POST, "/v1/x", &h),
                Decision::Allow,
                "{ok}"
            );
        }
        let rc = headers(r#"n="acme", v="2.5.0-rc.1""#);
        assert!(matches!(
            p.evaluate(&Method::PUT, "/v1/x", &rc),
            Decision::Deny(_)
        ));
        let ancient = headers(r#"n="acme", v="0.9.0""#);
        assert!(matches!(
            p.evaluate(&Method::GET, "/anything", &ancient),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn unknown_identities_follow_the_policy() {
        let p = policy();
        assert!(matches!(
            p.evaluate(&Method::POST, "/v1/x", &HeaderMap::new()),
            Decision::Deny(Denial { status: 426, .. })
        ));
        assert_eq!(
            p.evaluate(&Method::GET, "/v1/x", &HeaderMap::new()),
            Decision::Allow
        );
        assert!(matches!(
            p.evaluate(&Method::POST, "/v1/x", &headers("garbage(")),
            Decision::Deny(Denial { status: 400, .. })
        ));
        let all = Policy {
            unknown: UnknownIdentity::DenyAll,
            ..policy()
        };
        assert!(matches!(
            all.evaluate(&Method::GET, "/", &HeaderMap::new()),
            Decision::Deny(_)
        ));
        let allow = Policy {
            unknown: UnknownIdentity::Allow,
            ..policy()
        };
        assert_eq!(
            allow.evaluate(&Method::POST, "/v1/x", &headers("garbage(")),
            Decision::Allow
        );
    }

    #[test]
    fn only_pinned_sdks_need_a_semver_version() {
        let p = policy();
        let mut ua = HeaderMap::new();
        ua.insert("user-agent", "curl/8.5.0-DEV_x".parse().unwrap());
        assert_eq!(p.evaluate(&Method::POST, "/v1/x", &ua), Decision::Allow);
        let odd = headers(r#"n="acme", v="latest""#);
        assert!(matches!(
            p.evaluate(&Method::POST, "/v1/x", &odd),
            Decision::Deny(Denial { status: 400, .. })
        ));
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let p = Policy::from_json_str(
            r#"{"rules": [
                {"sdk": "acme", "minimum": "1.0.0"},
                {"sdk": "acme", "minimum": "3.0.0", "path_prefix": "/v1/admin/"},
                {"sdk": "acme", "minimum": "2.0.0", "path_prefix": "/v1/"},
                {"sdk": "acme", "minimum": "2.2.0", "path_prefix": "/v1/", "methods": "writes"},
                {"sdk": "acme", "minimum": "9.0.0", "path_prefix": "/v1/", "methods": "writes"}
            ]}"#,
        )
        .unwrap();
        let minimum = |m: Method, path: &str| match p.evaluate(
            &m,
            path,
            &headers(r#"n="acme", v="0.1.0""#),
        ) {
            Decision::Deny(d) => d.minimum_version,
            Decision::Allow => None,
        };
        assert_eq!(minimum(Method::GET, "/v2/x").as_deref(), Some("1.0.0"));
        assert_eq!(minimum(Method::GET, "/v1/x").as_deref(), Some("2.0.0"));
        // Writes-only beats all at the same prefix; among equals the first listed wins.
        assert_eq!(minimum(Method::DELETE, "/v1/x").as_deref(), Some("2.2.0"));
        // A longer prefix beats a method-specific rule.
        assert_eq!(
            minimum(Method::POST, "/v1/admin/x").as_deref(),
            Some("3.0.0")
        );
    }

    #[test]
    fn bad_policies_are_refused_at_load() {
        assert!(Policy::from_json_str(r#"{"rules":[{"sdk":"a","minimum":"one"}]}"#).is_err());
        assert!(Policy::from_json_str(r#"{"rules":[],"unknown":"maybe"}"#).is_err());
        assert!(Policy::from_toml_str("rules = 3").is_err());
        assert!(Policy::from_json_str(
            r#"{"rules":[{"sdk":"a","minimum":"1.2.3","methods":"writes"}]}"#
        )
        .is_ok());
    }
}
