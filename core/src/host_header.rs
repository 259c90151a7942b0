//! The `Host` header of a plain-HTTP request, set the way hyper-util sets it, from a
//! per-thread memo of the last value. hyper-util would format and allocate it on every
//! request; most requests go to the host of the one before.

use std::cell::RefCell;

use http::header::HOST;
use http::uri::Scheme;
use http::{HeaderValue, Uri};

thread_local! {
    /// The last `Host` value made on this thread (a host and port, never a credential).
    static LAST: RefCell<Option<HeaderValue>> = const { RefCell::new(None) };
}

/// Adds `Host: host[:port]` (the port only when it is not 80) to a request for an `http`
/// URI, unless the request already has one. Exactly what hyper-util adds to a request on an
/// HTTP/1 connection, which every `http` request uses here (HTTP/2 only by ALPN, over TLS).
/// Left to hyper-util: `https` (the connection may be HTTP/2, which sends no `Host`), and an
/// authority with userinfo or a spelled-out default port (never made by the engine's URIs).
pub(crate) fn add_for_http<B>(req: &mut http::Request<B>) {
    if let Some(value) = value_for_http(req.uri()) {
        req.headers_mut().entry(HOST).or_insert(value);
    }
}

/// The value [`add_for_http`] adds, if it adds one. The memo is compared first: it only
/// ever holds a value that passed the checks below, for an `http` authority of that text.
fn value_for_http(uri: &Uri) -> Option<HeaderValue> {
    if uri.scheme() != Some(&Scheme::HTTP) {
        return None;
    }
    let authority = uri.authority()?;
    let text = authority.as_str();
    LAST.with_borrow_mut(|last| match last {
        Some(v) if v.as_bytes() == text.as_bytes() => Some(v.clone()),
        _ => {
            if text.contains('@') || authority.port_u16() == Some(80) {
                return None;
            }
            let v = HeaderValue::from_str(text).ok()?;
            *last = Some(v.clone());
            Some(v)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(uri: &str, preset: Option<&'static str>) -> Option<String> {
        let mut req = http::Request::new(());
        *req.uri_mut() = uri.parse().unwrap();
        if let Some(p) = preset {
            req.headers_mut().insert(HOST, HeaderValue::from_static(p));
        }
        add_for_http(&mut req);
        req.headers()
            .get(HOST)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn http_gets_host_and_port_as_hyper_util_writes_them() {
        assert_eq!(host("http://a.test/x", None).as_deref(), Some("a.test"));
        assert_eq!(
            host("http://a.test:8080/", None).as_deref(),
            Some("a.test:8080")
        );
        assert_eq!(
            host("http://b.test:443/", None).as_deref(),
            Some("b.test:443")
        );
        assert_eq!(host("http://[::1]:81/", None).as_deref(), Some("[::1]:81"));
        // The memo serves the same host again, and another host gets its own value.
        assert_eq!(host("http://[::1]:81/y", None).as_deref(), Some("[::1]:81"));
        assert_eq!(host("http://a.test/", None).as_deref(), Some("a.test"));
    }

    #[test]
    fn a_callers_host_stays_and_the_rest_is_left_to_hyper_util() {
        assert_eq!(
            host("http://a.test/", Some("mine")).as_deref(),
            Some("mine")
        );
        assert_eq!(host("https://a.test/", None), None);
        assert_eq!(host("http://u:p@a.test/", None), None);
        assert_eq!(host("http://a.test:80/", None), None);
        assert_eq!(host("/relative", None), None);
    }
}
