//! No duplicate mutations: keys stable across hops and retries, and retries only where safe.
//! Every assertion is about what the server counted.

use std::time::{Duration, Instant};

use hopsafe::{KeyChoice, RetryPolicy};
use proptest::prelude::*;

mod common;
use common::*;

#[tokio::test]
async fn posts_get_a_quoted_key_stable_across_a_cross_origin_307() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::redirect(308, "{tls_b}/s/{id}/2"),
            Step::ok().apply(),
        ],
    );
    let resp = c.post(&url).body("w").send().await.unwrap();
    let key = resp.idempotency_key().unwrap().to_owned();
    assert_eq!(key.len(), 36);
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(
            r.idempotency_key.as_deref(),
            Some(format!("\"{key}\"").as_str())
        );
    }
    assert!(resp
        .history()
        .iter()
        .all(|h| h.idempotency_key.as_deref() == Some(&*key)));
}

#[tokio::test]
async fn keys_follow_the_method_and_the_callers_choice() {
    let srv = server().await;
    let c = client(&srv);
    for (method, keyed) in [
        ("POST", true),
        ("PATCH", true),
        ("PUT", false),
        ("GET", false),
        ("DELETE", false),
    ] {
        let (id, url) = script(&srv, "a", vec![Step::ok()]);
        c.request(method, &url).send().await.unwrap();
        assert_eq!(
            srv.records(&id)[0].idempotency_key.is_some(),
            keyed,
            "{method}"
        );
    }
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let resp = c
        .put(&url)
        .idempotency_key(KeyChoice::Use("order-42".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.idempotency_key(), Some("order-42"));
    assert_eq!(
        srv.records(&id)[0].idempotency_key.as_deref(),
        Some("\"order-42\"")
    );

    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    c.post(&url)
        .idempotency_key(KeyChoice::Off)
        .send()
        .await
        .unwrap();
    assert_eq!(srv.records(&id)[0].idempotency_key, None);

    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    c.put(&url)
        .idempotency_key(KeyChoice::Generate)
        .send()
        .await
        .unwrap();
    assert!(srv.records(&id)[0].idempotency_key.is_some());

    let bare = builder(&srv)
        .idempotency_key_format(hopsafe::KeyFormat::Bare)
        .build()
        .unwrap();
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    bare.post(&url)
        .idempotency_key(KeyChoice::Use("k1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(srv.records(&id)[0].idempotency_key.as_deref(), Some("k1"));

    let off = builder(&srv).idempotency_keys(false).build().unwrap();
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    off.post(&url).send().await.unwrap();
    assert_eq!(srv.records(&id)[0].idempotency_key, None);
}

/// A key among the client's default headers is the caller's key: sent as is on every
/// method, reported, never replaced by a generated one; `KeyChoice::Off` removes it.
#[tokio::test]
async fn a_default_header_key_counts_as_supplied_and_off_removes_it() {
    let srv = server().await;
    let c = builder(&srv)
        .default_header("Idempotency-Key", "\"base-1\"")
        .build()
        .unwrap();
    for method in ["POST", "GET"] {
        let (id, url) = script(&srv, "a", vec![Step::ok()]);
        let resp = c.request(method, &url).send().await.unwrap();
        assert_eq!(resp.idempotency_key(), Some("base-1"), "{method}");
        assert_eq!(
            srv.records(&id)[0].idempotency_key.as_deref(),
            Some("\"base-1\""),
            "{method}"
        );
    }
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let off = c.post(&url).idempotency_key(KeyChoice::Off);
    assert_eq!(off.send().await.unwrap().idempotency_key(), None);
    assert_eq!(srv.records(&id)[0].idempotency_key, None);
}

#[tokio::test]
async fn a_keyed_write_reset_after_processing_is_retried_and_applied_once() {
    let srv = server().await;
    // The standby is declared to deduplicate by key, so the generated key may be relied on.
    let c = builder(&srv)
        .key_honoring_origin(&srv.origin("b"))
        .build()
        .unwrap();
    for fault in ["reset_after_read", "close_before_response"] {
        let (id, url) = script(
            &srv,
            "a",
            vec![
                Step::redirect(307, "{b}/s/{id}/1"),
                Step::ok().apply().with_fault(fault),
            ],
        );
        let resp = c.post(&url).body("charge 10 EUR").send().await.unwrap();
        assert_eq!(resp.status(), 200, "{fault}");
        assert_eq!(resp.attempts(), 2, "{fault}");
        let w = srv.writes(&id);
        assert_eq!(w.deliveries, 2, "{fault}");
        assert_eq!(
            w.applications, 1,
            "{fault}: one key, so the server applies once"
        );
    }
}

#[tokio::test]
async fn an_unkeyed_post_is_never_resent_once_sent() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().apply().with_fault("reset_after_read")],
    );
    let err = c
        .post(&url)
        .idempotency_key(KeyChoice::Off)
        .body("charge")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, hopsafe::Error::Transport { .. }), "{err}");
    assert_eq!(srv.writes(&id).deliveries, 1);

    let (id, url) = script(&srv, "a", vec![Step::ok().apply().with_fault("status_503")]);
    let resp = c
        .post(&url)
        .idempotency_key(KeyChoice::Off)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(srv.records(&id).len(), 1);
}

#[tokio::test]
async fn idempotent_methods_are_retried_after_a_reset() {
    let srv = server().await;
    let c = client(&srv);
    for method in ["GET", "PUT", "DELETE"] {
        let (id, url) = script(&srv, "a", vec![Step::ok().with_fault("reset_after_read")]);
        let resp = c.request(method, &url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(srv.records(&id).len(), 2, "{method}");
    }
}

#[tokio::test]
async fn statuses_503_429_409_are_retried_422_and_400_never() {
    let srv = server().await;
    let c = builder(&srv)
        .key_honoring_origin(&srv.origin("a"))
        .build()
        .unwrap();
    for fault in ["status_503", "status_429", "status_409"] {
        let (id, url) = script(&srv, "a", vec![Step::ok().apply().with_fault(fault)]);
        let resp = c.post(&url).body("x").send().await.unwrap();
        assert_eq!(resp.status(), 200, "{fault}");
        assert_eq!(srv.records(&id).len(), 2, "{fault}");
    }
    for status in [400, 422, 404] {
        let (id, url) = script(&srv, "a", vec![Step::status(status)]);
        let resp = c.post(&url).body("x").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(srv.records(&id).len(), 1, "{status} is not retried");
    }
    // 409 means "key in flight": only meaningful for keyed requests.
    let (id, url) = script(&srv, "a", vec![Step::ok().with_fault("status_409")]);
    assert_eq!(c.put(&url).send().await.unwrap().status(), 409);
    assert_eq!(srv.records(&id).len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().with_fault("status_503").with_retry_after("1")],
    );
    let t = Instant::now();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(srv.records(&id).len(), 2);

    let capped = builder(&srv)
        .retry(RetryPolicy {
            max_retry_after: Duration::from_millis(500),
            ..fast_retry()
        })
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().with_fault("status_503").with_retry_after("120")],
    );
    assert_eq!(capped.get(&url).send().await.unwrap().status(), 503);
    assert_eq!(
        srv.records(&id).len(),
        1,
        "a longer Retry-After than the cap ends retries"
    );
}

#[tokio::test]
async fn attempts_are_bounded_and_never_retry_can_be_chosen() {
    let srv = server().await;
    let c = client(&srv);
    let faults = ["status_503"; 5];
    let mut step = Step::ok();
    for f in faults {
        step = step.with_fault(f);
    }
    let (id, url) = script(&srv, "a", vec![step.clone()]);
    assert_eq!(c.get(&url).send().await.unwrap().status(), 503);
    assert_eq!(srv.records(&id).len(), 3, "default max_attempts is 3");
    let (id, url) = script(&srv, "a", vec![step]);
    let resp = c
        .get(&url)
        .retry(RetryPolicy::never())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(srv.records(&id).len(), 1);
}

const FAULTS: [&str; 5] = [
    "reset_after_read",
    "close_before_response",
    "status_503",
    "status_409",
    "delay_ms:1",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Whatever faults the primary and the standby throw, a keyed write is applied at most
    /// once, and exactly once when the client reports success.
    #[test]
    fn any_fault_sequence_applies_a_keyed_write_at_most_once(
        first in proptest::collection::vec(0usize..FAULTS.len(), 0..3),
        second in proptest::collection::vec(0usize..FAULTS.len(), 0..4),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let srv = server().await;
            let c = builder(&srv)
                .retry(RetryPolicy { max_attempts: 4, ..fast_retry() })
                .key_honoring_origin(&srv.origin("a"))
                .key_honoring_origin(&srv.origin("b"))
                .build()
                .unwrap();
            let mut hop = Step::redirect(307, "{b}/s/{id}/1").apply();
            for f in &first { hop = hop.with_fault(FAULTS[*f]); }
            let mut fin = Step::ok().apply();
            for f in &second { fin = fin.with_fault(FAULTS[*f]); }
            let (id, url) = script(&srv, "a", vec![hop, fin]);
            let result = c.post(&url).body("pay").send().await;
            let w = srv.writes(&id);
            let keys: std::collections::BTreeSet<_> =
                srv.records(&id).into_iter().filter_map(|r| r.idempotency_key).collect();
            prop_assert!(keys.len() <= 1, "one key across every hop and retry: {keys:?}");
            prop_assert!(w.applications <= 1);
            if matches!(&result, Ok(r) if r.status() == 200) {
                prop_assert_eq!(w.applications, 1);
            }
            Ok(())
        })?;
    }
}
