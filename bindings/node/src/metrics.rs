//! `Client.metrics()`: the core's `MetricsSnapshot` as plain JS objects (napi turns the
//! snake_case fields into camelCase keys). Counts and times are JS numbers.

use napi_derive::napi;

/// A redirect pair: status, `scheme://host:port` origins, times in Unix milliseconds.
#[napi(object)]
pub struct NativeRedirectCount {
    pub status: u16,
    pub from: String,
    pub to: String,
    pub count: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub age_ms: i64,
}

/// A stripped header name and why.
#[napi(object)]
pub struct NativeStrippedCount {
    pub name: String,
    pub reason: String,
    pub count: i64,
}

/// Retries for one reason.
#[napi(object)]
pub struct NativeRetryCount {
    pub reason: String,
    pub count: i64,
}

/// A client's counters.
#[napi(object)]
pub struct NativeMetrics {
    pub redirects: Vec<NativeRedirectCount>,
    pub redirect_pairs_overflow: i64,
    pub headers_stripped: Vec<NativeStrippedCount>,
    pub retries: Vec<NativeRetryCount>,
    pub writes_resent_with_key: i64,
    pub writes_delivered_twice: i64,
}

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl From<hopsafe::MetricsSnapshot> for NativeMetrics {
    fn from(m: hopsafe::MetricsSnapshot) -> Self {
        NativeMetrics {
            redirects: m
                .redirects
                .into_iter()
                .map(|r| NativeRedirectCount {
                    status: r.status,
                    from: r.from,
                    to: r.to,
                    count: n(r.count),
                    first_seen_ms: n(r.first_seen_ms),
                    last_seen_ms: n(r.last_seen_ms),
                    age_ms: n(r.age_ms),
                })
                .collect(),
            redirect_pairs_overflow: n(m.redirect_pairs_overflow),
            headers_stripped: m
                .headers_stripped
                .into_iter()
                .map(|s| NativeStrippedCount {
                    name: s.name,
                    reason: s.reason,
                    count: n(s.count),
                })
                .collect(),
            retries: m
                .retries
                .into_iter()
                .map(|r| NativeRetryCount {
                    reason: r.reason,
                    count: n(r.count),
                })
                .collect(),
            writes_resent_with_key: n(m.writes_resent_with_key),
            writes_delivered_twice: n(m.writes_delivered_twice),
        }
    }
}
