//! The `Client-SDK` request header, in one place for both sides: the hopsafe client writes it
//! ([`format`]) on every hop and retry, and `hopsafe-pinning` reads it ([`client_identity`]) to
//! pin a minimum SDK version on servers.
//!
//! `Client-SDK: n="acme-python", v="2.4.0", c="0.1.0", l=python` is an RFC 9651 dictionary:
//!
//! | key | type | meaning |
//! |-----|------|---------|
//! | `n` | sf-string | SDK name chosen by the vendor embedding hopsafe |
//! | `v` | sf-string | SDK version (SemVer) |
//! | `c` | sf-string | hopsafe core version |
//! | `l` | sf-token  | language: `rust`, `python`, `node`, `kotlin`, `swift` |
//!
//! A server refuses an SDK version with `426` and an RFC 9457 `application/problem+json` body
//! whose `type` is [`UPGRADE_REQUIRED_TYPE`].

mod parse;

use http::HeaderName;

pub use parse::{client_identity, parse_client_sdk, ClientIdentity, IdentityError, IdentitySource};

/// The header carrying the machine-readable identity.
pub const CLIENT_SDK: HeaderName = HeaderName::from_static("client-sdk");

/// Problem type of a version refusal (`426`).
pub const UPGRADE_REQUIRED_TYPE: &str = "urn:hopsafe:problem:upgrade-required";
/// Problem type of a request without a readable identity where one is required (`426`).
pub const IDENTITY_REQUIRED_TYPE: &str = "urn:hopsafe:problem:sdk-identity-required";
/// Problem type of a malformed `Client-SDK` header (`400`).
pub const IDENTITY_MALFORMED_TYPE: &str = "urn:hopsafe:problem:sdk-identity-malformed";

/// The header value for an identity. The caller validates the parts first: name, version and
/// core version are printable ASCII without quotes or backslashes, language a lower-case token.
pub fn format(name: &str, version: &str, core_version: &str, language: &str) -> String {
    format!("n=\"{name}\", v=\"{version}\", c=\"{core_version}\", l={language}")
}
