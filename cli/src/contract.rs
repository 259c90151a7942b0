//! The assertions of `hopsafe check`.

use crate::args::Checks;
use crate::report::Trace;

const CREDENTIALS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// `Ok` when the trace honours every requested assertion; otherwise the first breach.
pub fn verify(c: &Checks, t: &Trace, trusted: &[String]) -> Result<(), String> {
    let fin = t.fin.as_ref().ok_or("no final response")?;
    if c.expect_method_preserved {
        for (i, h) in t.hops.iter().enumerate() {
            if h.method != t.method {
                return Err(format!(
                    "hop {} sent {} instead of {}",
                    i + 1,
                    h.method,
                    t.method
                ));
            }
        }
        if fin.method != t.method {
            return Err(format!(
                "the final request was {} instead of {}",
                fin.method, t.method
            ));
        }
    }
    if c.expect_body_preserved {
        for (i, h) in t.hops.iter().enumerate() {
            if h.body_sha256 != t.body_sha256 {
                return Err(format!(
                    "hop {} sent {} bytes, not the {}-byte body",
                    i + 1,
                    h.body_len,
                    t.body_len
                ));
            }
        }
        if t.final_body_len() != t.body_len {
            return Err(format!(
                "the final request carried no body ({} bytes expected)",
                t.body_len
            ));
        }
    }
    if let Some(max) = c.max_hops {
        if t.hops.len() > max {
            return Err(format!(
                "{} redirects, more than --max-hops {max}",
                t.hops.len()
            ));
        }
    }
    if let Some(want) = &c.expect_final_status {
        let got = fin.status.to_string();
        let ok = match want.as_bytes() {
            [d, b'x', b'x'] | [d, b'X', b'X'] => got.as_bytes()[0] == *d,
            _ => got == *want,
        };
        if !ok {
            return Err(format!("final status {got}, expected {want}"));
        }
    }
    if c.no_credential_leak {
        let first = origin(&t.url);
        let sent: Vec<(&str, &[String])> = t
            .hops
            .iter()
            .map(|h| (h.url.as_str(), h.sent_headers.as_slice()))
            .chain(std::iter::once((
                fin.url.as_str(),
                fin.sent_headers.as_slice(),
            )))
            .collect();
        let trusted: Vec<_> = trusted
            .iter()
            .filter_map(|p| hopsafe::origin::TrustedOrigin::parse(p).ok())
            .collect();
        for (url, headers) in sent {
            let is_trusted = hopsafe::Url::parse(url)
                .ok()
                .and_then(|u| hopsafe::origin::Origin::of(&u))
                .is_some_and(|o| trusted.iter().any(|t| t.matches(&o)));
            if origin(url) != first && !is_trusted {
                if let Some(h) = headers.iter().find(|h| CREDENTIALS.contains(&h.as_str())) {
                    return Err(format!(
                        "{h} was sent to {url}, another origin than {first}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn origin(url: &str) -> String {
    hopsafe::Url::parse(url)
        .ok()
        .and_then(|u| hopsafe::origin::Origin::of(&u))
        .map(|o| o.to_string())
        .unwrap_or_default()
}
