//! Reading the caller's identity: the `Client-SDK` Structured Field dictionary (RFC 8941), or
//! else the first `name/version` product of `User-Agent`.

use std::collections::BTreeMap;

use http::HeaderMap;

use crate::identity::CLIENT_SDK;

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

/// Reads the identity of a request.
pub fn client_identity(headers: &HeaderMap) -> Result<ClientIdentity, IdentityError> {
    if let Some(v) = headers.get(CLIENT_SDK) {
        let text = v
            .to_str()
            .map_err(|_| IdentityError::Malformed("not ASCII".into()))?;
        return parse_client_sdk(text);
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

/// Parses `n="acme-python", v="2.4.0", c="0.1.0", l=python` (unknown keys and parameters
/// are ignored).
pub fn parse_client_sdk(text: &str) -> Result<ClientIdentity, IdentityError> {
    let dict = parse_dictionary(text).map_err(IdentityError::Malformed)?;
    let get = |k: &str| dict.get(k).cloned();
    let need = |k: &str, what: &str| {
        get(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| IdentityError::Malformed(format!("no {what} ({k})")))
    };
    Ok(ClientIdentity {
        name: need("n", "SDK name")?,
        version: need("v", "SDK version")?,
        core_version: get("c"),
        language: get("l"),
        source: IdentitySource::ClientSdk,
    })
}

/// A dictionary whose values are strings, tokens, integers or booleans, as text.
fn parse_dictionary(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out = BTreeMap::new();
    p.skip(b" ");
    if p.done() {
        return Err("empty".into());
    }
    loop {
        let key = p.key()?;
        let value = if p.eat(b'=') {
            p.bare_item()?
        } else {
            "?1".into()
        };
        while p.eat(b';') {
            p.skip(b" ");
            p.key()?;
            if p.eat(b'=') {
                p.bare_item()?;
            }
        }
        out.insert(key, value);
        p.skip(b" \t");
        if p.done() {
            return Ok(out);
        }
        if !p.eat(b',') {
            return Err(format!("expected ',' at byte {}", p.i));
        }
        p.skip(b" \t");
        if p.done() {
            return Err("trailing comma".into());
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.i += usize::from(hit);
        hit
    }
    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.i += 1;
        }
    }
    fn take_while(&mut self, ok: impl Fn(u8) -> bool) -> String {
        let start = self.i;
        while self.peek().is_some_and(&ok) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(b) if b.is_ascii_lowercase() || b == b'*' => {}
            _ => return Err(format!("expected a key at byte {}", self.i)),
        }
        Ok(self
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)))
    }
    /// An sf-integer (up to 15 digits) or sf-decimal (up to 12 digits, a dot, 1 to 3 digits).
    fn number(&mut self) -> Result<String, String> {
        let start = self.i;
        self.eat(b'-');
        let int = self.take_while(|b| b.is_ascii_digit());
        if self.eat(b'.') {
            let frac = self.take_while(|b| b.is_ascii_digit());
            if frac.is_empty() || frac.len() > 3 || int.len() > 12 {
                return Err(format!("bad decimal at byte {start}"));
            }
        }
        if int.is_empty() || int.len() > 15 {
            return Err(format!("bad number at byte {start}"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare_item(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string".into()),
                        Some(b'"') => {
                            self.i += 1;
                            return Ok(out);
                        }
                        Some(b'\\') => {
                            self.i += 1;
                            match self.peek() {
                                Some(c @ (b'"' | b'\\')) => out.push(c as char),
                                _ => return Err("bad escape in string".into()),
                            }
                            self.i += 1;
                        }
                        Some(c) if (0x20..0x7f).contains(&c) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        Some(_) => return Err("control or non-ASCII byte in string".into()),
                    }
                }
            }
            Some(b'?') => {
                self.i += 1;
                match self.peek() {
                    Some(b @ (b'0' | b'1')) => {
                        self.i += 1;
                        Ok(format!("?{}", b as char))
                    }
                    _ => Err("bad boolean".into()),
                }
            }
            Some(b) if b.is_ascii_digit() || b == b'-' => self.number(),
            Some(b) if b.is_ascii_alphabetic() || b == b'*' => {
                Ok(self
                    .take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b)))
            }
            _ => Err(format!("expected a value at byte {}", self.i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_client_sends() {
        let id = crate::identity::SdkIdentity {
            name: "acme-python".into(),
            version: "2.4.0-rc.1".into(),
            language: "python".into(),
            runtime: None,
        };
        let parsed = parse_client_sdk(id.client_sdk_header().to_str().unwrap()).unwrap();
        assert_eq!(
            (parsed.name.as_str(), parsed.version.as_str()),
            ("acme-python", "2.4.0-rc.1")
        );
        assert_eq!(parsed.language.as_deref(), Some("python"));
        assert_eq!(parsed.core_version.as_deref(), Some(crate::VERSION));
    }

    #[test]
    fn tolerates_and_refuses() {
        let ok = parse_client_sdk(r#"v="1.0";x=1, n="a\"b", z, extra=?1"#).unwrap();
        assert_eq!(ok.name, "a\"b");
        let num = parse_client_sdk("n=a, v=-2.5").unwrap();
        assert_eq!((num.name.as_str(), num.version.as_str()), ("a", "-2.5"));
        for bad in [
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
