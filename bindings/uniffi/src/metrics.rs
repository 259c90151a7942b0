//! `HopsafeClient.metrics()`: the core's `MetricsSnapshot` as uniffi records (camelCase in
//! Kotlin and Swift).

/// Redirects followed from one origin to another with one status. Origins are
/// `scheme://host:port`; times are Unix milliseconds; `age_ms` is the time since
/// `first_seen_ms`, so a failover redirect still in place long after its incident stands out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RedirectCount {
    /// The redirect status (301, 302, 303, 307, 308).
    pub status: u16,
    /// The origin that redirected.
    pub from: String,
    /// The origin redirected to.
    pub to: String,
    /// How many times this redirect was followed.
    pub count: u64,
    /// When this client first followed it.
    pub first_seen_ms: u64,
    /// When this client last followed it.
    pub last_seen_ms: u64,
    /// Milliseconds since `first_seen_ms`.
    pub age_ms: u64,
}

/// A header removed before a next hop (the name, never a value), and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StrippedCount {
    /// Lower-case header name.
    pub name: String,
    /// `cross-origin` or `method-changed`.
    pub reason: String,
    /// How many times.
    pub count: u64,
}

/// Attempts sent again for one reason.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RetryCount {
    /// `connect`, `refused`, `after_send` (a reset or read timeout after sending),
    /// `malformed`, `tls_refused` or `status_NNN`.
    pub reason: String,
    /// How many times.
    pub count: u64,
}

/// A client's counters since it was built.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Metrics {
    /// Redirects followed, one entry per (status, from, to).
    pub redirects: Vec<RedirectCount>,
    /// Redirects to new pairs once 1024 pairs are kept.
    pub redirect_pairs_overflow: u64,
    /// Headers removed on the way to a next hop.
    pub headers_stripped: Vec<StrippedCount>,
    /// Attempts sent again, by the reason the previous one failed.
    pub retries: Vec<RetryCount>,
    /// Writes re-sent after they may have reached the server, with an idempotency key the
    /// server honours (it deduplicates them).
    pub writes_resent_with_key: u64,
    /// Writes re-sent after they may have reached the server without such a key. The retry
    /// rules keep this at 0: alert on anything else.
    pub writes_delivered_twice: u64,
}

impl From<hopsafe::MetricsSnapshot> for Metrics {
    fn from(m: hopsafe::MetricsSnapshot) -> Self {
        Metrics {
            redirects: m
                .redirects
                .into_iter()
                .map(|r| RedirectCount {
                    status: r.status,
                    from: r.from,
                    to: r.to,
                    count: r.count,
                    first_seen_ms: r.first_seen_ms,
                    last_seen_ms: r.last_seen_ms,
                    age_ms: r.age_ms,
                })
                .collect(),
            redirect_pairs_overflow: m.redirect_pairs_overflow,
            headers_stripped: m
                .headers_stripped
                .into_iter()
                .map(|s| StrippedCount {
                    name: s.name,
                    reason: s.reason,
                    count: s.count,
                })
                .collect(),
            retries: m
                .retries
                .into_iter()
                .map(|r| RetryCount {
                    reason: r.reason,
                    count: r.count,
                })
                .collect(),
            writes_resent_with_key: m.writes_resent_with_key,
            writes_delivered_twice: m.writes_delivered_twice,
        }
    }
}
