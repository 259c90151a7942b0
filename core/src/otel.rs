//! The client's counters as OpenTelemetry instruments (feature `otel`): observable counters
//! and a gauge, read from the client's metrics each time the meter provider collects, so the
//! hot path is the same as without the feature. Each callback reads only its own part (a
//! counter is one atomic load; only the two redirect instruments copy the pair table).
//!
//! | instrument | kind | attributes |
//! |---|---|---|
//! | `hopsafe.redirects` | counter | `status`, `from`, `to` |
//! | `hopsafe.redirect.age` | gauge (ms since first seen) | `status`, `from`, `to` |
//! | `hopsafe.redirect_pairs.overflow` | counter | |
//! | `hopsafe.headers_stripped` | counter | `header`, `reason` |
//! | `hopsafe.retries` | counter | `reason` |
//! | `hopsafe.writes.resent_with_key` | counter | |
//! | `hopsafe.writes.delivered_twice` | counter (alert on anything but 0) | |

use std::sync::{Arc, Weak};

use opentelemetry::metrics::{AsyncInstrument, Meter};
use opentelemetry::KeyValue;

use crate::config::Inner;
use crate::metrics::Metrics;
use crate::Client;

/// A callback's view of one part of the client's metrics: `None` once every clone of the
/// client is dropped (the meter provider never keeps a client and its connection pool alive).
fn reader<T: 'static>(
    client: &Client,
    part: fn(&Metrics) -> T,
) -> impl Fn() -> Option<T> + Send + Sync + 'static {
    let weak: Weak<Inner> = Arc::downgrade(&client.inner);
    move || weak.upgrade().map(|inner| part(&inner.metrics))
}

fn pair(status: u16, from: &str, to: &str) -> [KeyValue; 3] {
    [
        KeyValue::new("status", i64::from(status)),
        KeyValue::new("from", from.to_owned()),
        KeyValue::new("to", to.to_owned()),
    ]
}

/// A counter observed as one value of the snapshot.
fn total(
    meter: &Meter,
    client: &Client,
    name: &'static str,
    description: &'static str,
    value: fn(&Metrics) -> u64,
) {
    let read = reader(client, value);
    meter
        .u64_observable_counter(name)
        .with_description(description)
        .with_callback(move |o: &dyn AsyncInstrument<u64>| {
            if let Some(n) = read() {
                o.observe(n, &[]);
            }
        })
        .build();
}

impl Client {
    /// Registers this client's counters as observable instruments of `meter` (see the table
    /// in the `otel` module documentation). Call it once per client; the instruments observe
    /// nothing once the client and its clones are dropped.
    pub fn register_metrics(&self, meter: &Meter) {
        let read = reader(self, Metrics::redirects);
        meter
            .u64_observable_counter("hopsafe.redirects")
            .with_description("Redirects followed, by status and origin pair")
            .with_callback(move |o: &dyn AsyncInstrument<u64>| {
                for r in read().unwrap_or_default() {
                    o.observe(r.count, &pair(r.status, &r.from, &r.to));
                }
            })
            .build();
        let read = reader(self, Metrics::redirects);
        meter
            .u64_observable_gauge("hopsafe.redirect.age")
            .with_description("Time since a redirect pair was first followed")
            .with_unit("ms")
            .with_callback(move |o: &dyn AsyncInstrument<u64>| {
                for r in read().unwrap_or_default() {
                    o.observe(r.age_ms, &pair(r.status, &r.from, &r.to));
                }
            })
            .build();
        let read = reader(self, Metrics::headers_stripped);
        meter
            .u64_observable_counter("hopsafe.headers_stripped")
            .with_description("Headers removed before a next hop, by name and reason")
            .with_callback(move |o: &dyn AsyncInstrument<u64>| {
                for s in read().unwrap_or_default() {
                    let attrs = [
                        KeyValue::new("header", s.name),
                        KeyValue::new("reason", s.reason),
                    ];
                    o.observe(s.count, &attrs);
                }
            })
            .build();
        let read = reader(self, Metrics::retries);
        meter
            .u64_observable_counter("hopsafe.retries")
            .with_description("Attempts sent again, by the reason the previous one failed")
            .with_callback(move |o: &dyn AsyncInstrument<u64>| {
                for r in read().unwrap_or_default() {
                    o.observe(r.count, &[KeyValue::new("reason", r.reason)]);
                }
            })
            .build();
        total(
            meter,
            self,
            "hopsafe.redirect_pairs.overflow",
            "Redirects to new pairs once the pair table is full",
            Metrics::redirect_pairs_overflow,
        );
        total(
            meter,
            self,
            "hopsafe.writes.resent_with_key",
            "Writes re-sent after they may have reached the server, with an honoured key",
            Metrics::writes_resent_with_key,
        );
        total(
            meter,
            self,
            "hopsafe.writes.delivered_twice",
            "Writes re-sent after they may have reached the server without an honoured key",
            Metrics::writes_delivered_twice,
        );
    }
}
