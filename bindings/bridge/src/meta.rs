//! A response's metadata (status, URL, headers, redirect history...), taken on the runtime
//! and handed to the binding, which turns it into its language's values: natively (Python)
//! or as the JSON meta document (Node).

use serde_json::{json, Value};

/// What a binding shows of a response besides its body.
pub struct Meta {
    /// The final status code.
    pub status: u16,
    /// The final URL.
    pub url: String,
    /// The final method.
    pub method: String,
    /// `HTTP/1.1`, `HTTP/2.0`...
    pub http_version: String,
    /// The response headers, in order (repeated names repeat).
    pub headers: hopsafe::HeaderMap,
    /// The redirects followed, in order.
    pub history: Vec<hopsafe::Hop>,
    /// The idempotency key sent with the final request.
    pub idempotency_key: Option<String>,
    /// Attempts made for the final request.
    pub attempts: u32,
    /// Whether a redirect said the server accepted the write.
    pub write_accepted: bool,
}

impl Meta {
    pub(crate) fn of(r: &hopsafe::Response) -> Meta {
        Meta {
            status: r.status().as_u16(),
            url: r.url().as_str().to_owned(),
            method: r.method().as_str().to_owned(),
            http_version: format!("{:?}", r.version()),
            headers: r.headers().clone(),
            history: r.history().to_vec(),
            idempotency_key: r.idempotency_key().map(str::to_owned),
            attempts: r.attempts(),
            write_accepted: r.history().iter().any(hopsafe::Hop::accepted_write),
        }
    }

    /// The meta document: `{"status_code", "url", "method", "http_version", "headers":
    /// [[name, value]...], "history", "idempotency_key", "attempts", "write_accepted"}`.
    pub fn json(&self) -> String {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), lossy(v)))
            .collect();
        json!({
            "status_code": self.status, "url": self.url, "method": self.method,
            "http_version": self.http_version, "headers": headers,
            "history": hops_json(&self.history), "idempotency_key": self.idempotency_key,
            "attempts": self.attempts, "write_accepted": self.write_accepted,
        })
        .to_string()
    }
}

/// A header value as text (invalid UTF-8 replaced).
pub fn lossy(v: &hopsafe::http::HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

/// A hop's dropped headers as (name, reason) pairs.
pub fn dropped(h: &hopsafe::Hop) -> Vec<(&str, &str)> {
    h.dropped
        .iter()
        .map(|d| (d.name.as_str(), d.reason.as_str()))
        .collect()
}

pub(crate) fn hops_json(hops: &[hopsafe::Hop]) -> Value {
    hops.iter()
        .map(|h| {
            json!({
                "method": h.method.as_str(), "url": h.url.as_str(), "status_code": h.status.as_u16(),
                "location": h.location, "idempotency_key": h.idempotency_key, "attempts": h.attempts,
                "dropped": dropped(h),
            })
        })
        .collect()
}
