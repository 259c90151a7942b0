//! Counters operators can gate on: redirects followed (by status and origin pair, with when
//! each pair was first and last seen), headers stripped (by name and reason), retries (by
//! reason), and writes re-sent after they may have reached a server, split by whether a
//! key the server honours made that safe (`writes_delivered_twice` must stay 0).
//!
//! One [`Metrics`] per client, shared by its clones. Nothing here runs for a request that is
//! neither redirected nor retried: the engine calls in only on hops and retries, and a lock
//! is taken only then. Header values are never kept, only names.
//!
//! The age of a redirect pair is how a failover that outlived its incident shows: a 307 from
//! the primary to the standby first seen days ago is still in place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};

use crate::history::{DropReason, DroppedHeader};
use crate::origin::Origin;
use crate::retry::{is_idempotent, Failure};

/// At most this many (status, from, to) redirect pairs are kept; later new pairs are
/// counted in [`MetricsSnapshot::redirect_pairs_overflow`] instead.
pub const MAX_REDIRECT_PAIRS: usize = 1024;

/// At most this many (header, reason) pairs are kept (names come from the client's
/// configuration, so this only guards against a pathological one).
const MAX_STRIPPED_PAIRS: usize = 256;

#[derive(Debug, Clone, Copy)]
struct PairStats {
    count: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
}

/// A client's counters (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    redirects: Mutex<HashMap<(u16, Origin, Origin), PairStats>>,
    redirect_overflow: AtomicU64,
    stripped: Mutex<HashMap<(String, DropReason), u64>>,
    retries: Mutex<HashMap<Failure, u64>>,
    writes_resent_with_key: AtomicU64,
    writes_delivered_twice: AtomicU64,
}

/// What re-sending an attempt means for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Nothing can be applied twice: an idempotent method, or nothing reached the server.
    Harmless,
    /// A write that may have reached the server, with a key the server deduplicates.
    WithKey,
    /// A write that may have reached the server, without such a key: it may apply twice.
    Twice,
}

/// Judged from the facts alone, independently of [`retry::is_retry_safe`](crate::retry::is_retry_safe),
/// so `writes_delivered_twice` checks the retry policy instead of repeating it.
fn classify_resend(method: &Method, failure: Failure, key_honored: bool) -> Resend {
    let may_have_reached = match failure {
        Failure::Connect | Failure::Refused | Failure::TlsRefused => false,
        Failure::AfterSend | Failure::Malformed | Failure::Status(_) => true,
    };
    if is_idempotent(method) || !may_have_reached {
        Resend::Harmless
    } else if key_honored {
        Resend::WithKey
    } else {
        Resend::Twice
    }
}

/// The stable lower-case label of a retry reason: `connect`, `refused`, `after_send` (a reset
/// or read timeout after sending), `malformed`, `tls_refused`, or `status_NNN`.
pub fn retry_reason(failure: Failure) -> String {
    match failure {
        Failure::Connect => "connect".into(),
        Failure::Refused => "refused".into(),
        Failure::AfterSend => "after_send".into(),
        Failure::Malformed => "malformed".into(),
        Failure::TlsRefused => "tls_refused".into(),
        Failure::Status(s) => format!("status_{}", s.as_u16()),
    }
}

impl Metrics {
    /// A redirect from `from` to `to` was followed, dropping `dropped` on the way.
    pub fn record_hop(
        &self,
        status: StatusCode,
        from: &Origin,
        to: &Origin,
        dropped: &[DroppedHeader],
    ) {
        let now = SystemTime::now();
        {
            let mut redirects = lock(&self.redirects);
            let key = (status.as_u16(), from.clone(), to.clone());
            let full = redirects.len() >= MAX_REDIRECT_PAIRS;
            match redirects.get_mut(&key) {
                Some(s) => {
                    s.count += 1;
                    s.last_seen = s.last_seen.max(now);
                }
                None if full => {
                    self.redirect_overflow.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    let s = PairStats {
                        count: 1,
                        first_seen: now,
                        last_seen: now,
                    };
                    redirects.insert(key, s);
                }
            }
        }
        if dropped.is_empty() {
            return;
        }
        let mut stripped = lock(&self.stripped);
        for d in dropped {
            let key = (d.name.to_ascii_lowercase(), d.reason);
            let full = stripped.len() >= MAX_STRIPPED_PAIRS;
            match stripped.get_mut(&key) {
                Some(n) => *n += 1,
                None if full => {}
                None => {
                    stripped.insert(key, 1);
                }
            }
        }
    }

    /// An attempt that failed with `failure` is about to be sent again.
    pub fn record_retry(&self, method: &Method, failure: Failure, key_honored: bool) {
        *lock(&self.retries).entry(failure).or_default() += 1;
        match classify_resend(method, failure, key_honored) {
            Resend::Harmless => {}
            Resend::WithKey => {
                self.writes_resent_with_key.fetch_add(1, Ordering::Relaxed);
            }
            Resend::Twice => {
                self.writes_delivered_twice.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The counters now, sorted so two snapshots compare line by line.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            redirects: self.redirects(),
            redirect_pairs_overflow: self.redirect_pairs_overflow(),
            headers_stripped: self.headers_stripped(),
            retries: self.retries(),
            writes_resent_with_key: self.writes_resent_with_key(),
            writes_delivered_twice: self.writes_delivered_twice(),
        }
    }

    /// [`MetricsSnapshot::redirects`], sorted by origin pair and status.
    pub fn redirects(&self) -> Vec<RedirectCount> {
        let now = SystemTime::now();
        let mut redirects: Vec<RedirectCount> = lock(&self.redirects)
            .iter()
            .map(|((status, from, to), s)| RedirectCount {
                status: *status,
                from: from.to_string(),
                to: to.to_string(),
                count: s.count,
                first_seen_ms: unix_ms(s.first_seen),
                last_seen_ms: unix_ms(s.last_seen),
                age_ms: millis(now.duration_since(s.first_seen).unwrap_or_default()),
            })
            .collect();
        redirects.sort_by(|a, b| (&a.from, &a.to, a.status).cmp(&(&b.from, &b.to, b.status)));
        redirects
    }

    /// [`MetricsSnapshot::headers_stripped`], sorted by name and reason.
    pub fn headers_stripped(&self) -> Vec<StrippedCount> {
        let mut stripped: Vec<StrippedCount> = lock(&self.stripped)
            .iter()
            .map(|((name, reason), n)| StrippedCount {
                name: name.clone(),
                reason: reason.as_str().to_owned(),
                count: *n,
            })
            .collect();
        stripped.sort_by(|a, b| (&a.name, &a.reason).cmp(&(&b.name, &b.reason)));
        stripped
    }

    /// [`MetricsSnapshot::retries`], sorted by reason.
    pub fn retries(&self) -> Vec<RetryCount> {
        let mut retries: Vec<RetryCount> = lock(&self.retries)
            .iter()
            .map(|(f, n)| RetryCount {
                reason: retry_reason(*f),
                count: *n,
            })
            .collect();
        retries.sort_by(|a, b| a.reason.cmp(&b.reason));
        retries
    }

    /// [`MetricsSnapshot::redirect_pairs_overflow`].
    pub fn redirect_pairs_overflow(&self) -> u64 {
        self.redirect_overflow.load(Ordering::Relaxed)
    }

    /// [`MetricsSnapshot::writes_resent_with_key`].
    pub fn writes_resent_with_key(&self) -> u64 {
        self.writes_resent_with_key.load(Ordering::Relaxed)
    }

    /// [`MetricsSnapshot::writes_delivered_twice`].
    pub fn writes_delivered_twice(&self) -> u64 {
        self.writes_delivered_twice.load(Ordering::Relaxed)
    }
}

/// A poisoned lock still holds valid counts (every update is a single step).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unix_ms(t: SystemTime) -> u64 {
    millis(t.duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// A client's counters at one moment ([`Client::metrics`](crate::Client::metrics)); plain
/// data, counted since the client was built and shared by its clones.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Redirects followed, one entry per (status, from origin, to origin).
    pub redirects: Vec<RedirectCount>,
    /// Redirects followed to a new pair after [`MAX_REDIRECT_PAIRS`] pairs were kept.
    pub redirect_pairs_overflow: u64,
    /// Headers removed on the way to a next hop, by name and reason (never a value).
    pub headers_stripped: Vec<StrippedCount>,
    /// Attempts sent again, by the reason the previous one failed.
    pub retries: Vec<RetryCount>,
    /// Writes (non-idempotent methods) re-sent after they may have reached the server, with an
    /// idempotency key the server honours: the server deduplicates them.
    pub writes_resent_with_key: u64,
    /// Writes re-sent after they may have reached the server *without* such a key: each may
    /// have been applied twice. The retry rules keep this at 0; alert on anything else.
    pub writes_delivered_twice: u64,
}

/// One redirect pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RedirectCount {
    /// The redirect status (301, 302, 303, 307, 308).
    pub status: u16,
    /// The origin that redirected, `scheme://host:port`.
    pub from: String,
    /// The origin redirected to, `scheme://host:port`.
    pub to: String,
    /// How many times this redirect was followed.
    pub count: u64,
    /// When this client first followed it (Unix milliseconds).
    pub first_seen_ms: u64,
    /// When this client last followed it (Unix milliseconds).
    pub last_seen_ms: u64,
    /// Milliseconds since `first_seen_ms` at the snapshot: a failover redirect still in place
    /// long after its incident has a large age.
    pub age_ms: u64,
}

/// One stripped header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StrippedCount {
    /// Lower-case header name.
    pub name: String,
    /// Why: `cross-origin` or `method-changed` ([`DropReason::as_str`]).
    pub reason: String,
    /// How many times.
    pub count: u64,
}

/// Retries for one reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RetryCount {
    /// `connect`, `refused`, `after_send`, `malformed`, `tls_refused` or `status_NNN`.
    pub reason: String,
    /// How many times.
    pub count: u64,
}

impl MetricsSnapshot {
    /// Every field name of the snapshot and of its entries, as serde spells them (the
    /// bindings' parity test checks each binding against this list).
    #[doc(hidden)]
    pub fn field_names() -> Vec<String> {
        let sample = MetricsSnapshot {
            redirects: vec![RedirectCount {
                status: 307,
                from: String::new(),
                to: String::new(),
                count: 0,
                first_seen_ms: 0,
                last_seen_ms: 0,
                age_ms: 0,
            }],
            headers_stripped: vec![StrippedCount {
                name: String::new(),
                reason: String::new(),
                count: 0,
            }],
            retries: vec![RetryCount {
                reason: String::new(),
                count: 0,
            }],
            ..MetricsSnapshot::default()
        };
        fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                    out.push(k.clone());
                    keys(v, out);
                }),
                serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        keys(&serde_json::to_value(sample).unwrap_or_default(), &mut out);
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::of(&s.parse().unwrap()).unwrap()
    }

    #[test]
    fn an_unsafe_resend_is_counted_as_delivered_twice() {
        let m = Metrics::default();
        m.record_retry(&Method::POST, Failure::AfterSend, false);
        m.record_retry(
            &Method::PATCH,
            Failure::Status(StatusCode::SERVICE_UNAVAILABLE),
            false,
        );
        m.record_retry(&Method::POST, Failure::AfterSend, true);
        // Nothing reached the server, or the method is idempotent: no duplicate possible.
        m.record_retry(&Method::POST, Failure::Connect, false);
        m.record_retry(&Method::PUT, Failure::AfterSend, false);
        let s = m.snapshot();
        assert_eq!(s.writes_delivered_twice, 2);
        assert_eq!(s.writes_resent_with_key, 1);
        let reasons: Vec<_> = s.retries.iter().map(|r| (&*r.reason, r.count)).collect();
        assert_eq!(
            reasons,
            [("after_send", 3), ("connect", 1), ("status_503", 1)]
        );
    }

    #[test]
    fn pairs_keep_first_seen_and_stop_growing_at_the_bound() {
        let m = Metrics::default();
        let (a, b) = (origin("https://a.test"), origin("http://b.test:8080"));
        let auth = DroppedHeader {
            name: "authorization".into(),
            reason: DropReason::CrossOrigin,
        };
        m.record_hop(
            StatusCode::TEMPORARY_REDIRECT,
            &a,
            &b,
            std::slice::from_ref(&auth),
        );
        let first = m.snapshot().redirects[0].clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        m.record_hop(StatusCode::TEMPORARY_REDIRECT, &a, &b, &[auth]);
        let s = m.snapshot();
        let r = &s.redirects[0];
        assert_eq!(
            (r.status, &*r.from, &*r.to),
            (307, "https://a.test:443", "http://b.test:8080")
        );
        assert_eq!((r.count, r.first_seen_ms), (2, first.first_seen_ms));
        assert!(
            r.last_seen_ms > first.last_seen_ms && r.age_ms >= 5,
            "{r:?}"
        );
        assert_eq!(s.headers_stripped[0].count, 2);
        assert_eq!(s.headers_stripped[0].reason, "cross-origin");

        for port in 0..MAX_REDIRECT_PAIRS as u16 + 3 {
            let to = origin(&format!("http://c.test:{}", port + 1));
            m.record_hop(StatusCode::FOUND, &a, &to, &[]);
        }
        let s = m.snapshot();
        assert_eq!(s.redirects.len(), MAX_REDIRECT_PAIRS);
        assert_eq!(s.redirect_pairs_overflow, 4);
    }
}
