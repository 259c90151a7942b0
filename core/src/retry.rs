//! When a failed attempt may be sent again, and how long to wait first.
//!
//! A request is resent only when that cannot apply a write twice:
//! - idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) after any retryable failure;
//! - a write whose `Idempotency-Key` the server is known to honour (the caller supplied the
//!   key, or declared the origin: see [`idempotency::is_honored`](crate::idempotency::is_honored)),
//!   when `retry_keyed_writes` is on. A generated key alone proves nothing: most servers
//!   ignore the header, so such a write is delivered at most once;
//! - any other request only when nothing can have been processed: the connection was never
//!   opened, or HTTP/2 refused the stream.
//!
//! A response that could not be parsed is never retried: the server answered, wrongly, and
//! asking again does not make that a network failure.

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Method, StatusCode};

/// Retry settings of a client or a request. In the serde form every field is optional and
/// durations are seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Default 3.
    pub max_attempts: u32,
    /// Backoff base: attempt n waits a random time in `[0, min(cap, base * 2^n))`. Default 100 ms.
    #[serde(with = "crate::units::secs_required")]
    pub base_delay: Duration,
    /// Upper bound of the computed backoff. Default 5 s.
    #[serde(with = "crate::units::secs_required")]
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the retries. Default 30 s.
    #[serde(with = "crate::units::secs_required")]
    pub max_retry_after: Duration,
    /// Statuses that are retried (default 429 and 503). 409 is retried for writes whose key
    /// the server honours.
    pub statuses: Vec<u16>,
    /// Retry writes whose idempotency key the server honours (default true).
    pub retry_keyed_writes: bool,
    /// Seed for the jitter (tests); `None` uses a random seed. Not in the serde form.
    #[serde(skip)]
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            statuses: vec![429, 503],
            retry_keyed_writes: true,
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }
}

/// What happened to one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The connection could not be opened: nothing was sent.
    Connect,
    /// HTTP/2 refused the stream (REFUSED_STREAM, or GOAWAY before it): not processed.
    Refused,
    /// The connection broke or timed out after the request may have been sent.
    AfterSend,
    /// The server's answer was not valid HTTP (never retried).
    Malformed,
    /// The TLS handshake failed: an untrusted server certificate, or a client certificate the
    /// server refused or missed. Nothing reached the application, and another attempt would
    /// get the same answer (never retried).
    TlsRefused,
    /// The server answered with this status.
    Status(StatusCode),
}

/// RFC 9110 §9.2.2 idempotent methods.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        method.as_str(),
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// Whether the failure may be retried for this request (ignoring the attempt count).
/// `key_honored`: the request carries an idempotency key the server is known to honour.
pub fn is_retry_safe(policy: &RetryPolicy, method: &Method, key_honored: bool, f: Failure) -> bool {
    let replay_ok = is_idempotent(method) || (key_honored && policy.retry_keyed_writes);
    match f {
        Failure::Connect | Failure::Refused => true,
        Failure::Malformed | Failure::TlsRefused => false,
        Failure::AfterSend => replay_ok,
        Failure::Status(s) if s == StatusCode::CONFLICT => key_honored && replay_ok,
        Failure::Status(s) => replay_ok && policy.statuses.contains(&s.as_u16()),
    }
}

/// Whether a response with this status is a candidate for a retry (409 "key in flight",
/// or one of the policy's statuses); [`is_retry_safe`] decides whether it is retried.
pub fn is_retry_status(policy: &RetryPolicy, status: StatusCode) -> bool {
    status == StatusCode::CONFLICT || policy.statuses.contains(&status.as_u16())
}

/// Whether waiting `wait` from `now` still ends before `deadline`. Saturating: a wait too
/// long to represent never fits.
pub fn fits_before(now: Instant, wait: Duration, deadline: Option<Instant>) -> bool {
    match (deadline, now.checked_add(wait)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(at), Some(end)) => end < at,
    }
}

/// Computes backoff delays with full jitter.
#[derive(Debug)]
pub struct Backoff {
    rng: fastrand::Rng,
}

impl Backoff {
    /// A backoff generator for `policy` (seeded when the policy has a seed).
    pub fn new(policy: &RetryPolicy) -> Self {
        let rng = match policy.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Backoff { rng }
    }

    /// Delay before retry number `retry` (0 for the first retry): uniform in
    /// `[0, min(max_delay, base_delay * 2^retry)]`.
    pub fn delay(&mut self, policy: &RetryPolicy, retry: u32) -> Duration {
        let ceiling = policy
            .base_delay
            .saturating_mul(1u32 << retry.min(20))
            .min(policy.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.u64(0..=nanos))
    }
}

/// How long to wait before retry number `retry` (0 for the first): the server's
/// `Retry-After` when the answer has one, else the jittered backoff. `None` when the server
/// asks for longer than the policy honours, which ends the retries.
pub fn next_wait(
    policy: &RetryPolicy,
    backoff: &mut Backoff,
    retry: u32,
    answer: Option<&HeaderMap>,
    now: SystemTime,
) -> Option<Duration> {
    match answer.and_then(|h| retry_after(h, now)) {
        Some(asked) if asked > policy.max_retry_after => None,
        Some(asked) => Some(asked),
        None => Some(backoff.delay(policy, retry)),
    }
}

/// The wait a response asks for in `Retry-After` (delta-seconds or an HTTP-date), if any.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unkeyed_posts_are_resent_only_when_unprocessed() {
        let p = RetryPolicy::default();
        assert!(is_retry_safe(&p, &Method::POST, false, Failure::Connect));
        assert!(is_retry_safe(&p, &Method::POST, false, Failure::Refused));
        assert!(!is_retry_safe(&p, &Method::POST, false, Failure::AfterSend));
        let s503 = Failure::Status(StatusCode::SERVICE_UNAVAILABLE);
        assert!(!is_retry_safe(&p, &Method::POST, false, s503));
        assert!(is_retry_safe(&p, &Method::POST, true, s503));
        assert!(is_retry_safe(&p, &Method::PUT, false, s503));
    }

    #[test]
    fn malformed_answers_are_never_retried() {
        let p = RetryPolicy::default();
        for m in [Method::GET, Method::PUT, Method::POST] {
            assert!(!is_retry_safe(&p, &m, true, Failure::Malformed));
            assert!(!is_retry_safe(&p, &m, true, Failure::TlsRefused));
        }
    }

    #[test]
    fn waits_saturate_instead_of_overflowing() {
        let now = Instant::now();
        let at = now + Duration::from_secs(1);
        assert!(fits_before(now, Duration::from_millis(10), Some(at)));
        assert!(!fits_before(now, Duration::from_secs(1), Some(at)));
        assert!(!fits_before(now, Duration::MAX, Some(at)));
        assert!(fits_before(now, Duration::MAX, None));
    }

    #[test]
    fn conflict_only_for_keyed_and_never_422_or_400() {
        let p = RetryPolicy::default();
        let st = |c| Failure::Status(StatusCode::from_u16(c).unwrap());
        assert!(is_retry_safe(&p, &Method::POST, true, st(409)));
        assert!(!is_retry_safe(&p, &Method::PUT, false, st(409)));
        for code in [400, 401, 403, 404, 422] {
            assert!(!is_retry_safe(&p, &Method::POST, true, st(code)));
            assert!(!is_retry_safe(&p, &Method::GET, false, st(code)));
        }
        let off = RetryPolicy {
            retry_keyed_writes: false,
            ..Default::default()
        };
        assert!(!is_retry_safe(&off, &Method::POST, true, st(503)));
    }

    #[test]
    fn jitter_is_bounded_and_seeded() {
        let p = RetryPolicy {
            jitter_seed: Some(7),
            ..Default::default()
        };
        let (mut a, mut b) = (Backoff::new(&p), Backoff::new(&p));
        for retry in 0..30 {
            let d = a.delay(&p, retry);
            assert_eq!(d, b.delay(&p, retry));
            let cap = (p.base_delay * 2u32.pow(retry.min(20))).min(p.max_delay);
            assert!(d <= cap);
        }
    }

    #[test]
    fn retry_after_wins_over_backoff_up_to_the_cap() {
        let p = RetryPolicy {
            jitter_seed: Some(3),
            ..Default::default()
        };
        let mut b = Backoff::new(&p);
        let now = SystemTime::UNIX_EPOCH;
        let mut h = HeaderMap::new();
        assert!(next_wait(&p, &mut b, 0, Some(&h), now).unwrap() <= p.base_delay);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            next_wait(&p, &mut b, 0, Some(&h), now),
            Some(Duration::from_secs(7))
        );
        h.insert("retry-after", "31".parse().unwrap());
        assert_eq!(next_wait(&p, &mut b, 0, Some(&h), now), None);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(60));
        h.insert("retry-after", later.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(60)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
