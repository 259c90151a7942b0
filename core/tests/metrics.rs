//! `Client::metrics`: what the client counted, checked against what the test server saw.

use std::time::Duration;

use hopsafe::{KeyChoice, MetricsSnapshot};

mod common;
use common::*;

fn origin_of(srv: &TestServer, label: &str) -> String {
    // The snapshot names origins with their port, as `scheme://host:port`.
    let url = hopsafe::Url::parse(&srv.origin(label)).unwrap();
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
}

fn retries(m: &MetricsSnapshot) -> Vec<(String, u64)> {
    m.retries
        .iter()
        .map(|r| (r.reason.clone(), r.count))
        .collect()
}

#[tokio::test]
async fn a_cross_origin_307_counts_the_pair_and_the_stripped_credential() {
    let srv = server().await;
    let c = client(&srv);
    let (a, b) = (origin_of(&srv, "a"), origin_of(&srv, "b"));
    let chain = || vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()];
    let (id, url) = script(&srv, "a", chain());
    let resp = c.get(&url).bearer_auth("secret").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(srv.records(&id)[1].header("authorization"), None);

    let m = c.metrics();
    assert_eq!(m.redirects.len(), 1, "{m:?}");
    let first = m.redirects[0].clone();
    assert_eq!((first.status, &*first.from, &*first.to), (307, &*a, &*b));
    assert_eq!(first.count, 1);
    let stripped: Vec<_> = m
        .headers_stripped
        .iter()
        .map(|s| (&*s.name, &*s.reason, s.count))
        .collect();
    assert_eq!(stripped, [("authorization", "cross-origin", 1)]);
    assert!(retries(&m).is_empty());
    assert_eq!((m.writes_resent_with_key, m.writes_delivered_twice), (0, 0));
    assert!(!serde_json::to_string(&m).unwrap().contains("secret"));

    // Seen again later, through a clone: same pair, first_seen kept, last_seen advanced.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, url) = script(&srv, "a", chain());
    let clone = c.clone();
    clone.get(&url).bearer_auth("secret").send().await.unwrap();
    let again = c.metrics().redirects[0].clone();
    assert_eq!(again.count, 2);
    assert_eq!(again.first_seen_ms, first.first_seen_ms);
    assert!(again.last_seen_ms >= first.last_seen_ms + 20, "{again:?}");
    assert!(again.age_ms >= 20, "{again:?}");
    assert_eq!(c.metrics().headers_stripped[0].count, 2);
}

#[tokio::test]
async fn a_503_then_200_counts_one_retry_by_status() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(&srv, "a", vec![Step::ok().with_fault("status_503")]);
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(srv.records(&id).len(), 2);
    let m = c.metrics();
    assert_eq!(retries(&m), [("status_503".to_owned(), 1)]);
    assert_eq!((m.writes_resent_with_key, m.writes_delivered_twice), (0, 0));
    assert!(m.redirects.is_empty());
}

#[tokio::test]
async fn a_keyed_post_resent_after_a_reset_is_counted_as_deduplicated() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().apply().with_fault("reset_after_read")],
    );
    let resp = c
        .post(&url)
        .idempotency_key(KeyChoice::Use("order-7".into()))
        .body("charge")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(srv.writes(&id).deliveries, 2);
    let m = c.metrics();
    assert_eq!(retries(&m), [("after_send".to_owned(), 1)]);
    assert_eq!(m.writes_resent_with_key, 1);
    assert_eq!(m.writes_delivered_twice, 0);
}

#[tokio::test]
async fn an_unkeyed_post_after_a_reset_is_not_resent_and_counts_nothing() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().apply().with_fault("reset_after_read")],
    );
    let req = c.post(&url).idempotency_key(KeyChoice::Off).body("charge");
    assert!(req.send().await.is_err());
    assert_eq!(srv.writes(&id).deliveries, 1);
    assert_eq!(c.metrics(), MetricsSnapshot::default());
}
