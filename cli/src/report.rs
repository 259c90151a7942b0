//! What happened, hop by hop, as text or JSON.

use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::args::RequestArgs;

/// The final response, as far as the trace needs it.
pub struct Final {
    pub status: u16,
    pub url: String,
    pub method: String,
    pub key: Option<String>,
    pub sent_headers: Vec<String>,
    pub attempts: u32,
    pub history: Vec<hopsafe::Hop>,
}

impl Final {
    pub fn from_response(r: &hopsafe::Response) -> Final {
        Final {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            method: r.method().to_string(),
            key: r.idempotency_key().map(str::to_owned),
            sent_headers: names(r.sent_headers()),
            attempts: r.attempts(),
            history: r.history().to_vec(),
        }
    }
}

/// One hop as shown.
pub struct HopLine {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub body_len: u64,
    pub body_sha256: String,
    pub key: Option<String>,
    pub sent_headers: Vec<String>,
    pub dropped: Vec<(String, String)>,
    pub elapsed: Duration,
}

/// The whole trace.
pub struct Trace {
    pub method: String,
    pub url: String,
    pub body_len: u64,
    pub body_sha256: String,
    pub hops: Vec<HopLine>,
    pub fin: Option<Final>,
    pub error: Option<(String, String)>,
    pub elapsed: Duration,
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Trace {
    pub fn new(
        req: &RequestArgs,
        body: &[u8],
        outcome: Result<Final, hopsafe::Error>,
        elapsed: Duration,
    ) -> Trace {
        let (fin, error, history) = match outcome {
            Ok(mut f) => {
                let h = std::mem::take(&mut f.history);
                (Some(f), None, h)
            }
            Err(e) => (
                None,
                Some((e.name().to_owned(), e.to_string())),
                e.history().to_vec(),
            ),
        };
        let body_sha = sha(body);
        Trace {
            method: req.method.clone(),
            url: req.url.clone(),
            body_len: body.len() as u64,
            body_sha256: body_sha.clone(),
            hops: Vec::new(),
            fin,
            error,
            elapsed,
        }
        .with_hops(&history, &body_sha, &sha(b""))
    }

    fn with_hops(mut self, hops: &[hopsafe::Hop], body_sha: &str, empty_sha: &str) -> Trace {
        self.hops = hops
            .iter()
            .map(|h| {
                let len = h.body_len.unwrap_or(0);
                HopLine {
                    method: h.method.to_string(),
                    url: h.url.to_string(),
                    status: h.status.as_u16(),
                    location: h.location.clone(),
                    body_len: len,
                    body_sha256: if len == 0 {
                        empty_sha.to_owned()
                    } else {
                        body_sha.to_owned()
                    },
                    key: h.idempotency_key.clone(),
                    sent_headers: names(&h.sent_headers),
                    dropped: h
                        .dropped
                        .iter()
                        .map(|d| (d.name.clone(), d.reason.as_str().to_owned()))
                        .collect(),
                    elapsed: h.elapsed,
                }
            })
            .collect();
        self
    }

    /// The final request's body length (the body goes when the method changes).
    pub fn final_body_len(&self) -> u64 {
        match &self.fin {
            Some(f) if f.method == self.method => self.body_len,
            _ => 0,
        }
    }

    pub fn to_json(&self) -> Value {
        let hops: Vec<Value> = self
            .hops
            .iter()
            .map(|h| {
                json!({
                    "method": h.method, "url": h.url, "status": h.status, "location": h.location,
                    "body_bytes": h.body_len, "body_sha256": h.body_sha256, "idempotency_key": h.key,
                    "sent_headers": h.sent_headers,
                    "dropped": h.dropped.iter().map(|(n, r)| json!({"name": n, "reason": r})).collect::<Vec<_>>(),
                    "elapsed_ms": h.elapsed.as_secs_f64() * 1000.0,
                })
            })
            .collect();
        json!({
            "request": {"method": self.method, "url": self.url, "body_bytes": self.body_len, "body_sha256": self.body_sha256},
            "hops": hops,
            "final": self.fin.as_ref().map(|f| json!({
                "status": f.status, "url": f.url, "method": f.method, "idempotency_key": f.key,
                "body_bytes": self.final_body_len(), "sent_headers": f.sent_headers, "attempts": f.attempts,
            })),
            "error": self.error.as_ref().map(|(n, m)| json!({"name": n, "message": m})),
            "elapsed_ms": self.elapsed.as_secs_f64() * 1000.0,
        })
    }

    pub fn render(&self, colour: bool) -> String {
        let paint = |code: &str, s: &str| {
            if colour {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        let short = |d: &str| d[..12.min(d.len())].to_owned();
        let mut out = format!(
            "{} {} {}\n  body {} bytes sha256:{}\n",
            paint("1", "request"),
            self.method,
            self.url,
            self.body_len,
            short(&self.body_sha256)
        );
        for (i, h) in self.hops.iter().enumerate() {
            out.push_str(&format!(
                "{} {} {} {} -> {}  ({:.1} ms)\n",
                paint("36", &format!("hop {}", i + 1)),
                h.method,
                h.url,
                paint("33", &h.status.to_string()),
                h.location.as_deref().unwrap_or("-"),
                h.elapsed.as_secs_f64() * 1000.0
            ));
            out.push_str(&format!(
                "  sent body {} bytes sha256:{}",
                h.body_len,
                short(&h.body_sha256)
            ));
            if let Some(k) = &h.key {
                out.push_str(&format!("  idempotency-key {k}"));
            }
            out.push('\n');
            for (name, reason) in &h.dropped {
                out.push_str(&format!("  {} {name} ({reason})\n", paint("31", "dropped")));
            }
        }
        match (&self.fin, &self.error) {
            (Some(f), _) => {
                let kept = if f.method == self.method {
                    "kept"
                } else {
                    "dropped"
                };
                out.push_str(&format!(
                    "{} {} {} {}  body {kept} ({} bytes)",
                    paint("1", "final"),
                    f.method,
                    f.url,
                    paint(
                        if f.status < 400 { "32" } else { "31" },
                        &f.status.to_string()
                    ),
                    self.final_body_len()
                ));
                if let Some(k) = &f.key {
                    out.push_str(&format!("  idempotency-key {k}"));
                }
                if f.attempts > 1 {
                    out.push_str(&format!("  after {} attempts", f.attempts));
                }
                out.push('\n');
            }
            (None, Some((name, msg))) => {
                out.push_str(&format!("{} {name}: {msg}\n", paint("31", "error")))
            }
            (None, None) => {}
        }
        out.push_str(&format!(
            "{} hops in {:.1} ms\n",
            self.hops.len(),
            self.elapsed.as_secs_f64() * 1000.0
        ));
        out
    }
}

fn names(headers: &[hopsafe::http::HeaderName]) -> Vec<String> {
    headers.iter().map(ToString::to_string).collect()
}
