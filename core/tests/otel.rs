//! Feature `otel`: the client's counters reach an OpenTelemetry meter provider (the SDK's
//! in-memory exporter here) with the values `Client::metrics` reports.
#![cfg(feature = "otel")]

use std::collections::BTreeMap;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

mod common;
use common::*;

/// Every u64 data point collected: (instrument, sorted attributes) -> value.
fn collect(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
) -> BTreeMap<(String, String), u64> {
    exporter.reset();
    provider.force_flush().unwrap();
    let mut out = BTreeMap::new();
    for rm in exporter.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics() {
                let AggregatedMetrics::U64(data) = m.data() else {
                    continue;
                };
                let points: Vec<(String, u64)> = match data {
                    MetricData::Sum(s) => s
                        .data_points()
                        .map(|p| (attrs(p.attributes()), p.value()))
                        .collect(),
                    MetricData::Gauge(g) => g
                        .data_points()
                        .map(|p| (attrs(p.attributes()), p.value()))
                        .collect(),
                    _ => Vec::new(),
                };
                for (a, v) in points {
                    out.insert((m.name().to_owned(), a), v);
                }
            }
        }
    }
    out
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut v: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    v.sort();
    v.join(",")
}

#[tokio::test]
async fn the_counters_reach_the_meter_provider() {
    let srv = server().await;
    let c = client(&srv);
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    c.register_metrics(&provider.meter("hopsafe-test"));

    let (_, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::ok().with_fault("status_503"),
        ],
    );
    let resp = c.get(&url).bearer_auth("secret").send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let m = c.metrics();
    let r = &m.redirects[0];
    let got = collect(&provider, &exporter);
    let pair = format!("from={},status=307,to={}", r.from, r.to);
    let at = |name: &str, attrs: &str| got.get(&(name.to_owned(), attrs.to_owned())).copied();
    assert_eq!(at("hopsafe.redirects", &pair), Some(1), "{got:?}");
    assert!(at("hopsafe.redirect.age", &pair).is_some(), "{got:?}");
    let auth = "header=authorization,reason=cross-origin";
    assert_eq!(at("hopsafe.headers_stripped", auth), Some(1), "{got:?}");
    assert_eq!(
        at("hopsafe.retries", "reason=status_503"),
        Some(1),
        "{got:?}"
    );
    assert_eq!(at("hopsafe.writes.delivered_twice", ""), Some(0), "{got:?}");
    assert_eq!(at("hopsafe.writes.resent_with_key", ""), Some(0), "{got:?}");
    assert!(!format!("{got:?}").contains("secret"));

    // Once the client is gone the instruments observe nothing (the provider keeps no pool).
    drop((c, resp));
    let after = collect(&provider, &exporter);
    assert!(
        !after.keys().any(|(name, _)| name == "hopsafe.redirects"),
        "{after:?}"
    );
}
