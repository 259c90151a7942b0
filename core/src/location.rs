//! Turning a `Location` header into the next URL (RFC 3986 §5, RFC 9110 §10.2.2).

use url::Url;

/// `Location` values longer than this are refused (browsers and servers cap URLs near here).
pub const MAX_LOCATION_LEN: usize = 16 * 1024;

/// Why a `Location` cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationError {
    /// Empty or only white space.
    Empty,
    /// Longer than [`MAX_LOCATION_LEN`].
    TooLong(usize),
    /// Contains a control character (other than those the URL parser strips).
    ControlCharacter,
    /// The URL parser rejected it.
    Unparseable(String),
    /// The scheme is not http or https.
    UnsupportedScheme(String),
    /// The response carried several different `Location` values (Fetch: a network error).
    Conflicting(usize),
}

impl std::fmt::Display for LocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocationError::Empty => f.write_str("empty"),
            LocationError::TooLong(n) => write!(f, "{n} bytes, limit {MAX_LOCATION_LEN}"),
            LocationError::ControlCharacter => f.write_str("contains a control character"),
            LocationError::Unparseable(e) => write!(f, "not a URL: {e}"),
            LocationError::UnsupportedScheme(s) => write!(f, "scheme {s:?} is not http(s)"),
            LocationError::Conflicting(n) => write!(f, "{n} different Location values"),
        }
    }
}

/// The one `Location` of a response: `None` when there is none, the value when every field
/// line carries the same bytes, [`LocationError::Conflicting`] when they differ (WHATWG
/// Fetch treats that as a network error; following the first would let an injected header
/// decide where the body goes).
pub fn single_location(
    headers: &http::HeaderMap,
) -> Result<Option<&http::HeaderValue>, LocationError> {
    let mut values = headers.get_all(http::header::LOCATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let mut distinct = vec![first];
    for v in values {
        if !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    match distinct.len() {
        1 => Ok(Some(first)),
        n => Err(LocationError::Conflicting(n)),
    }
}

/// Resolves the raw bytes of a `Location` header against the URL that answered with it.
///
/// - Relative references, `../`, `?query` and protocol-relative `//host/path` resolve per
///   RFC 3986; spaces and non-ASCII are percent-encoded (bytes that are not UTF-8 are
///   percent-encoded as they are).
/// - The current URL's fragment is inherited when the `Location` has none.
/// - Credentials (`user:pass@`) in a `Location` are removed: they are never sent.
/// - Only http and https targets are accepted.
pub fn resolve_location(current: &Url, raw: &[u8]) -> Result<Url, LocationError> {
    if raw.len() > MAX_LOCATION_LEN {
        return Err(LocationError::TooLong(raw.len()));
    }
    let text = decode(raw);
    let trimmed = text.trim_matches(|c: char| c == ' ' || c == '\t');
    if trimmed.is_empty() {
        return Err(LocationError::Empty);
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n' && c != '\r')
    {
        return Err(LocationError::ControlCharacter);
    }
    let mut next = current
        .join(trimmed)
        .map_err(|e| LocationError::Unparseable(e.to_string()))?;
    if next.scheme() != "http" && next.scheme() != "https" {
        return Err(LocationError::UnsupportedScheme(next.scheme().to_owned()));
    }
    if next.host_str().is_none_or(str::is_empty) {
        return Err(LocationError::Unparseable("no host".into()));
    }
    // Setting empty credentials cannot fail on an http(s) URL with a host.
    let _ = next.set_username("");
    let _ = next.set_password(None);
    if next.fragment().is_none() {
        if let Some(fragment) = current.fragment() {
            next.set_fragment(Some(fragment));
        }
    }
    Ok(next)
}

/// UTF-8 text as is; any other byte >= 0x80 becomes `%XX`.
fn decode(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => s.into(),
        Err(_) => {
            let mut out = String::with_capacity(raw.len() * 3);
            for chunk in raw.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, loc: &str) -> Result<String, LocationError> {
        resolve_location(&Url::parse(base).unwrap(), loc.as_bytes()).map(|u| u.to_string())
    }

    #[test]
    fn rfc3986_forms() {
        let b = "http://a.test/b/c/d;p?q";
        assert_eq!(r(b, "g").unwrap(), "http://a.test/b/c/g");
        assert_eq!(r(b, "../g").unwrap(), "http://a.test/b/g");
        assert_eq!(r(b, "../../../../g").unwrap(), "http://a.test/g");
        assert_eq!(r(b, "/g?x=1").unwrap(), "http://a.test/g?x=1");
        assert_eq!(r(b, "?y").unwrap(), "http://a.test/b/c/d;p?y");
        assert_eq!(r(b, "//other.test/x").unwrap(), "http://other.test/x");
        assert_eq!(
            r("https://a.test/", "//o.test/").unwrap(),
            "https://o.test/"
        );
    }

    #[test]
    fn fragments_are_inherited_unless_given() {
        assert_eq!(r("http://a.test/x#f", "/y").unwrap(), "http://a.test/y#f");
        assert_eq!(r("http://a.test/x#f", "/y#g").unwrap(), "http://a.test/y#g");
    }

    #[test]
    fn encoding() {
        assert_eq!(r("http://a.test/", "/a b").unwrap(), "http://a.test/a%20b");
        assert_eq!(r("http://a.test/", "/é").unwrap(), "http://a.test/%C3%A9");
        let latin1 = resolve_location(&Url::parse("http://a.test/").unwrap(), b"/caf\xe9")
            .unwrap()
            .to_string();
        assert_eq!(latin1, "http://a.test/caf%E9");
        assert_eq!(r("http://a.test/", "/%zz").unwrap(), "http://a.test/%zz");
    }

    #[test]
    fn hostile_values() {
        let b = "http://a.test/";
        assert_eq!(r(b, ""), Err(LocationError::Empty));
        assert_eq!(r(b, "   "), Err(LocationError::Empty));
        assert!(matches!(
            r(b, "javascript:alert(1)"),
            Err(LocationError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            r(b, "file:///etc/passwd"),
            Err(LocationError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            r(b, &"a".repeat(64 * 1024)),
            Err(LocationError::TooLong(_))
        ));
        assert_eq!(r(b, "/a\u{0}b"), Err(LocationError::ControlCharacter));
        assert!(matches!(
            r(b, "http://[::1"),
            Err(LocationError::Unparseable(_))
        ));
        assert_eq!(r(b, "http://[::1]:8080/x").unwrap(), "http://[::1]:8080/x");
        assert_eq!(r(b, "http://u:p@b.test/").unwrap(), "http://b.test/");
    }

    #[test]
    fn one_location_or_identical_duplicates() {
        let mut h = http::HeaderMap::new();
        assert_eq!(single_location(&h), Ok(None));
        h.append(http::header::LOCATION, "/a".parse().unwrap());
        h.append(http::header::LOCATION, "/a".parse().unwrap());
        assert_eq!(single_location(&h).unwrap().unwrap(), "/a");
        h.append(http::header::LOCATION, "http://evil.test/".parse().unwrap());
        assert_eq!(single_location(&h), Err(LocationError::Conflicting(2)));
    }
}
