//! What the server remembers about each request, and the write accounting built on it.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bodies up to this size are echoed back as text; larger ones as `null`.
pub(crate) const ECHO_BODY_LIMIT: usize = 64 * 1024;

/// One recorded request (scripts, tags and `GET /__records/{tag}` all return these).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Arrival order across the whole server, starting at 0.
    pub seq: u64,
    /// Script id when the request hit `/s/{id}/{n}`.
    pub script: Option<String>,
    /// Step index `n` when the request hit `/s/{id}/{n}`.
    pub step: Option<usize>,
    /// Tag from a `/t/{tag}/...` prefix.
    pub tag: Option<String>,
    /// Origin label (`a`, `a2`, `b`, `a_name`, `tls`, `tls_b`, `tls_name`, `v6`, ...).
    pub origin: String,
    /// `http` or `https`.
    pub scheme: String,
    /// `HTTP/1.1` or `HTTP/2` (also `HTTP/1.0`).
    pub version: String,
    /// Request method as sent.
    pub method: String,
    /// Request path exactly as sent (including any `/t/{tag}` prefix), without the query.
    pub path: String,
    /// Raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Request headers, lowercase names, values in order (lossy UTF-8). For HTTP/2 the
    /// authority appears under `:authority` since there is no `host` header.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Bytes of request body received.
    pub body_len: u64,
    /// Lowercase hex SHA-256 of the received body bytes.
    pub body_sha256: String,
    /// False when the body read failed or was cut (or was never read: `reset_before_read`).
    pub body_complete: bool,
    /// First `Idempotency-Key` header value.
    pub idempotency_key: Option<String>,
    /// True when this delivery counted as an application of a write (see [`Writes`]).
    pub applied: bool,
    /// The fault that fired on this delivery, if any.
    pub fault: Option<String>,
}

impl Record {
    /// First value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// Write accounting for a script: how often `apply` steps received a complete body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writes {
    /// Requests to `apply` steps whose body was complete (and not refused by a status fault).
    pub deliveries: u64,
    /// Distinct `Idempotency-Key` values among those deliveries.
    pub distinct_keys: u64,
    /// Deliveries without an `Idempotency-Key`.
    pub unkeyed: u64,
    /// `distinct_keys + unkeyed`: how many times the write took effect on a server that
    /// deduplicates by key.
    pub applications: u64,
    /// Deliveries per key.
    pub keys: BTreeMap<String, u64>,
}

impl Writes {
    /// Computes the accounting from a script's records.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Writes {
        let mut w = Writes::default();
        for r in records.into_iter().filter(|r| r.applied) {
            w.deliveries += 1;
            match &r.idempotency_key {
                Some(k) => *w.keys.entry(k.clone()).or_default() += 1,
                None => w.unkeyed += 1,
            }
        }
        w.distinct_keys = w.keys.len() as u64;
        w.applications = w.distinct_keys + w.unkeyed;
        w
    }
}

/// Append-only log of records.
#[derive(Default)]
pub(crate) struct RecordLog {
    records: Vec<Record>,
}

impl RecordLog {
    /// Next sequence number to hand out.
    pub fn next_seq(&self) -> u64 {
        self.records.len() as u64
    }

    /// Appends a record, assigning its `seq`.
    pub fn push(&mut self, mut r: Record) {
        r.seq = self.next_seq();
        self.records.push(r);
    }

    /// Records of requests to `/s/{id}/*`, in arrival order.
    pub fn for_script(&self, id: &str) -> Vec<Record> {
        self.records
            .iter()
            .filter(|r| r.script.as_deref() == Some(id))
            .cloned()
            .collect()
    }

    /// Records of requests carrying the `/t/{tag}` prefix, in arrival order.
    pub fn for_tag(&self, tag: &str) -> Vec<Record> {
        self.records
            .iter()
            .filter(|r| r.tag.as_deref() == Some(tag))
            .cloned()
            .collect()
    }
}

/// Lowercase-name header map with lossy UTF-8 values.
pub(crate) fn header_map(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        m.entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    m
}

/// Summary of a request body.
pub(crate) struct BodyInfo {
    pub len: u64,
    pub sha256: String,
    pub complete: bool,
    /// The body when it is at most [`ECHO_BODY_LIMIT`] bytes.
    pub small: Option<Vec<u8>>,
}

impl BodyInfo {
    /// The body of a request whose body was never read.
    pub fn unread() -> BodyInfo {
        BodyInfo {
            len: 0,
            sha256: hex(&Sha256::digest(b"")),
            complete: false,
            small: Some(Vec::new()),
        }
    }
}

/// Reads a whole body, hashing as it goes; a read error marks it incomplete.
pub(crate) async fn read_body<B>(mut body: B) -> BodyInfo
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut small = Some(Vec::new());
    let complete = loop {
        match body.frame().await {
            None => break true,
            Some(Err(_)) => break false,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    hasher.update(&data);
                    len += data.len() as u64;
                    if let Some(buf) = small.as_mut() {
                        if buf.len() + data.len() <= ECHO_BODY_LIMIT {
                            buf.extend_from_slice(&data);
                        } else {
                            small = None;
                        }
                    }
                }
            }
        }
    };
    BodyInfo {
        len,
        sha256: hex(&hasher.finalize()),
        complete,
        small,
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: Option<&str>, applied: bool) -> Record {
        Record {
            seq: 0,
            script: None,
            step: None,
            tag: None,
            origin: "a".into(),
            scheme: "http".into(),
            version: "HTTP/1.1".into(),
            method: "POST".into(),
            path: "/".into(),
            query: None,
            headers: BTreeMap::new(),
            body_len: 0,
            body_sha256: String::new(),
            body_complete: true,
            idempotency_key: key.map(str::to_owned),
            applied,
            fault: None,
        }
    }

    #[test]
    fn writes_accounting() {
        let rs = [
            rec(Some("k1"), true),
            rec(Some("k1"), true),
            rec(Some("k2"), true),
            rec(None, true),
            rec(Some("k3"), false),
        ];
        let w = Writes::from_records(&rs);
        assert_eq!(w.deliveries, 4);
        assert_eq!(w.distinct_keys, 2);
        assert_eq!(w.unkeyed, 1);
        assert_eq!(w.applications, 3);
        assert_eq!(w.keys["k1"], 2);
    }
}
