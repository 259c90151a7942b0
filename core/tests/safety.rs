//! The README's promises against servers that do not cooperate: one test per finding of the
//! safety review, each named after what it proves and each failing on the code before its fix.

use std::time::Duration;

use bytes::Bytes;
use hopsafe::{Body, Error, KeyChoice, RetryPolicy};
use proptest::prelude::*;

mod common;
use common::*;

/// Waits until the server recorded `n` deliveries of script `id` (a background read may still
/// be running) and returns them; gives up after a few seconds with what it has.
async fn records_when(srv: &TestServer, id: &str, n: usize) -> Vec<Record> {
    for _ in 0..200 {
        let recs = srv.records(id);
        if recs.len() >= n {
            return recs;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    srv.records(id)
}

/// A loopback URL where nothing listens (connect is refused).
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/gone")
}

fn assert_shows_no_secret(e: &Error, secrets: &[&str]) {
    let shown = format!("{e} | {e:?} | {:?}", e.url());
    for s in secrets {
        assert!(!shown.contains(s), "{s:?} leaked: {shown}");
    }
}

// 1. No duplicate writes against a server that ignores keys.

#[tokio::test]
async fn a_generated_key_alone_never_resends_a_write_that_may_have_arrived() {
    let srv = server().await;
    let c = builder(&srv)
        .read_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    for fault in [
        "reset_after_read",
        "close_before_response",
        "status_503",
        "status_429",
        "status_409",
        "delay_ms:2000",
    ] {
        let (id, url) = script(&srv, "a", vec![Step::ok().apply().with_fault(fault)]);
        let result = c.post(&url).body("charge 10 EUR").send().await;
        assert!(
            !matches!(&result, Ok(r) if r.status() == 200),
            "{fault}: the failure reaches the caller"
        );
        assert_eq!(srv.records(&id).len(), 1, "{fault}: delivered once");
    }
    // HTTP/2 promised the write was not processed: retried whatever the key.
    let (id, url) = script(
        &srv,
        "tls",
        vec![Step::ok().apply().with_fault("refused_stream")],
    );
    assert_eq!(c.post(&url).body("x").send().await.unwrap().status(), 200);
    assert_eq!(srv.writes(&id).deliveries, 1);
    assert_eq!(srv.records(&id).len(), 2);
}

#[tokio::test]
async fn keys_count_as_honoured_when_the_caller_supplied_them_or_declared_the_origin() {
    let srv = server().await;
    let steps = || {
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::ok().apply().with_fault("reset_after_read"),
        ]
    };
    let declared = builder(&srv)
        .key_honoring_origin(&srv.origin("b"))
        .build()
        .unwrap();
    let (id, url) = script(&srv, "a", steps());
    let resp = declared.post(&url).body("pay").send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.attempts()), (200, 2));
    let w = srv.writes(&id);
    assert_eq!((w.deliveries, w.distinct_keys, w.unkeyed), (2, 1, 0));

    // Declaring the first origin says nothing about the one that failed.
    let only_a = builder(&srv)
        .key_honoring_origin(&srv.origin("a"))
        .build()
        .unwrap();
    let (id, url) = script(&srv, "a", steps());
    let err = only_a.post(&url).body("pay").send().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert_eq!(srv.writes(&id).deliveries, 1);

    let c = client(&srv);
    let (id, url) = script(&srv, "a", steps());
    let supplied = KeyChoice::Use("order-7".into());
    let resp = c
        .post(&url)
        .idempotency_key(supplied)
        .body("pay")
        .send()
        .await;
    assert_eq!(resp.unwrap().status(), 200);
    assert_eq!(srv.writes(&id).deliveries, 2);
    let (id, url) = script(&srv, "a", steps());
    let resp = c
        .post(&url)
        .header("Idempotency-Key", "\"order-8\"")
        .body("p");
    assert_eq!(resp.send().await.unwrap().status(), 200);
    assert_eq!(srv.writes(&id).deliveries, 2);

    assert!(builder(&srv)
        .key_honoring_origin("ftp://x.test")
        .build()
        .is_err());
}

// 2. The key state follows what was actually sent.

#[tokio::test]
async fn a_key_stripped_on_another_origin_no_longer_counts_as_keyed() {
    let srv = server().await;
    let c = builder(&srv)
        .sensitive_header("idempotency-key")
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::ok().apply().with_fault("reset_after_read"),
        ],
    );
    let supplied = KeyChoice::Use("order-9".into());
    let err = c.post(&url).idempotency_key(supplied.clone()).body("pay");
    let err = err.send().await.unwrap_err();
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 2, "the unkeyed write at b is not resent");
    assert_eq!(recs[1].idempotency_key, None);
    assert_eq!(err.history()[0].idempotency_key.as_deref(), Some("order-9"));

    let (_, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()],
    );
    let resp = c
        .post(&url)
        .idempotency_key(supplied)
        .body("pay")
        .send()
        .await;
    assert_eq!(resp.unwrap().idempotency_key(), None, "b got no key");
}

// 3. URL credentials never reach an error, a hop or a log line.

#[tokio::test]
async fn url_credentials_never_reach_an_error_or_a_hop() {
    let srv = server().await;
    let c = builder(&srv)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (_, url) = script(&srv, "a", vec![Step::ok().with_fault("delay_ms:3000")]);
    let with_creds = url.replacen("http://", "http://alice:secret@", 1);
    let err = c.get(&with_creds).send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_shows_no_secret(&err, &["alice", "secret"]);

    let b_with_creds = srv
        .origin("b")
        .replacen("http://", "http://bob:hunter2@", 1);
    let (_, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, format!("{b_with_creds}/s/{{id}}/1")),
            Step::ok().with_fault("delay_ms:3000"),
        ],
    );
    let err = c.post(&url).body("x").send().await.unwrap_err();
    assert_eq!(err.history().len(), 1);
    assert_shows_no_secret(&err, &["bob", "hunter2"]);

    for input in [
        "http://alice:secret@",
        "ftp://alice:secret@a.test/",
        "http://alice:secret@[::1/",
    ] {
        let err = c.get(input).send().await.unwrap_err();
        assert_shows_no_secret(&err, &["secret"]);
    }
}

// 4. An error after an accepted write says so, with the history.

#[tokio::test]
async fn an_error_after_an_accepted_write_carries_the_history_and_says_so() {
    let srv = server().await;
    let c = client(&srv);
    for (status, method, accepted) in [
        (303, "POST", true),
        (303, "PUT", true),
        (302, "POST", true),
        (301, "POST", true),
        (302, "PUT", false),
        (307, "POST", false),
        (308, "PATCH", false),
    ] {
        let (_, url) = script(&srv, "a", vec![Step::redirect(status, dead_url()).apply()]);
        let err = c.request(method, &url).body("order").send().await;
        let err = err.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert_eq!(err.history().len(), 1, "{status} {method}");
        assert_eq!(err.history()[0].status.as_u16(), status);
        assert_eq!(err.write_accepted(), accepted, "{status} {method}");
    }
}

// 5. A cut stream never looks complete.

async fn answered_early_while_uploading(origin: &str) {
    let srv = server().await;
    let c = builder(&srv).replay_buffer_limit(64 << 20).build().unwrap();
    let (id, url) = script(
        &srv,
        origin,
        vec![
            Step::redirect(307, "/s/{id}/1").with_fault("answer_early"),
            Step::ok().apply(),
        ],
    );
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 512;
    let chunk = Bytes::from(vec![b'w'; CHUNK]);
    let stream = futures_util::stream::iter((0..CHUNKS).map(move |_| Ok(chunk.clone())));
    let resp = c.post(&url).body(Body::from_stream(stream)).send().await;
    assert_eq!(resp.unwrap().status(), 200, "{origin}");
    let total = (CHUNK * CHUNKS) as u64;
    let recs = records_when(&srv, &id, 2).await;
    let early = recs
        .iter()
        .find(|r| r.step == Some(0))
        .expect("early delivery");
    assert!(
        !early.body_complete || early.body_len == total,
        "{origin}: a cut upload ended as complete ({} of {total} bytes)",
        early.body_len
    );
    let replay = recs.iter().find(|r| r.step == Some(1)).unwrap();
    assert!(replay.body_complete && replay.body_len == total, "{origin}");
    assert_eq!(srv.writes(&id).deliveries, 1);
}

#[tokio::test]
async fn a_stream_handed_over_for_replay_aborts_the_first_upload_on_http1() {
    answered_early_while_uploading("a").await;
}

#[tokio::test]
async fn a_stream_handed_over_for_replay_aborts_the_first_upload_on_h2() {
    answered_early_while_uploading("tls").await;
}

// 6. A large 426 problem body is served whole.

#[tokio::test]
async fn a_large_426_body_is_returned_whole() {
    let srv = server().await;
    let c = client(&srv);
    let big = format!(
        r#"{{"type":"about:blank","title":"{}"}}"#,
        "x".repeat(4 << 20)
    );
    let step = Step::status(426)
        .with_header("content-type", "application/problem+json")
        .with_body(big.clone());
    let (_, url) = script(&srv, "a", vec![step]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 426);
    let got = resp.bytes().await.unwrap();
    assert_eq!(got.len(), big.len());
    assert!(got == big.as_bytes(), "the body differs");
}

// 7. Time arithmetic saturates.

#[tokio::test]
async fn huge_durations_and_retry_after_values_never_panic() {
    let srv = server().await;
    let uncapped = builder(&srv)
        .retry(RetryPolicy {
            max_retry_after: Duration::MAX,
            ..fast_retry()
        })
        .timeout(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    let step = Step::ok()
        .with_fault("status_503")
        .with_retry_after("18446744073709551615");
    let (id, url) = script(&srv, "a", vec![step]);
    assert_eq!(uncapped.get(&url).send().await.unwrap().status(), 503);
    assert_eq!(srv.records(&id).len(), 1);

    let forever = builder(&srv)
        .timeout(Some(Duration::MAX))
        .read_timeout(Some(Duration::MAX))
        .connect_timeout(Some(Duration::MAX))
        .build()
        .unwrap();
    let (_, url) = script(&srv, "a", vec![Step::ok()]);
    let resp = forever.get(&url).timeout(Duration::MAX).send().await;
    assert_eq!(resp.unwrap().status(), 200);
}

proptest! {
    /// Whatever the wait and the deadline, deciding whether a retry fits never panics, and a
    /// wait that does not fit before the deadline is never accepted.
    #[test]
    fn retry_waits_saturate(wait_ns in any::<u64>(), secs in any::<u64>(), left_ms in 0u64..10_000) {
        let now = std::time::Instant::now();
        let deadline = now + Duration::from_millis(left_ms);
        for wait in [Duration::from_nanos(wait_ns), Duration::from_secs(secs), Duration::MAX] {
            let fits = hopsafe::retry::fits_before(now, wait, Some(deadline));
            prop_assert_eq!(fits, wait < Duration::from_millis(left_ms));
            prop_assert!(hopsafe::retry::fits_before(now, wait, None));
        }
    }
}

// 8. Host never follows an origin change.

#[tokio::test]
async fn a_callers_host_header_never_reaches_another_origin_even_a_trusted_one() {
    let srv = server().await;
    let c = builder(&srv)
        .trust_origin(&srv.origin("tls_b"))
        .http2(false)
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "tls",
        vec![Step::redirect(307, "{tls_b}/s/{id}/1"), Step::ok()],
    );
    let host = url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap();
    let req = c
        .post(&url)
        .header("Host", host)
        .bearer_auth("tok")
        .body("x");
    let resp = req.send().await.unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[0].header("host"), Some(host));
    assert_eq!(recs[1].header("authorization"), Some("Bearer tok"));
    let b_host = srv
        .origin("tls_b")
        .trim_start_matches("https://")
        .to_owned();
    assert_eq!(recs[1].header("host"), Some(b_host.as_str()));
    assert!(resp.history()[0].dropped.iter().any(|d| d.name == "host"));
}

/// Plain HTTP gets the `Host` hyper-util writes (host and port, each hop its own, the same
/// host again after another), and a caller's own `Host` goes only to its first origin.
#[tokio::test]
async fn plain_http_sends_each_hops_host_and_a_callers_host_stays_home() {
    let srv = server().await;
    let c = client(&srv);
    let mut origins = vec!["a", "b", "a_name", "a"];
    if srv.has_origin("v6") {
        origins.push("v6");
    }
    for origin in origins {
        let (id, url) = script(&srv, origin, vec![Step::ok()]);
        c.get(&url).send().await.unwrap();
        let host = srv.origin(origin).trim_start_matches("http://").to_owned();
        assert_eq!(srv.records(&id)[0].header("host"), Some(host.as_str()));
    }
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()],
    );
    c.get(&url)
        .header("Host", "mine.test")
        .send()
        .await
        .unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[0].header("host"), Some("mine.test"));
    let b_host = srv.origin("b").trim_start_matches("http://").to_owned();
    assert_eq!(recs[1].header("host"), Some(b_host.as_str()));
}

// 9. Every credential value is marked sensitive.

#[test]
fn credential_values_never_show_in_debug_output() {
    let c = hopsafe::Client::builder()
        .sensitive_header("x-api-key")
        .build()
        .unwrap();
    let req = c
        .post("http://a.test/")
        .bearer_auth("b3arer")
        .header("Cookie", "sess=c00kie")
        .header("Proxy-Authorization", "Basic pr0xy")
        .header("X-Api-Key", "k3y")
        .header("Accept", "visible")
        .build()
        .unwrap();
    let shown = format!("{req:?}");
    for secret in ["b3arer", "c00kie", "pr0xy", "k3y"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("visible"));
}

// 10. Content-specific headers go with the body.

#[tokio::test]
async fn expect_and_digests_go_with_the_body_and_stay_with_it() {
    let srv = server().await;
    let c = client(&srv);
    let body_bound = [
        ("Expect", "100-continue"),
        (
            "Digest",
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        ),
        (
            "Content-Digest",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        ),
        (
            "Repr-Digest",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        ),
    ];
    for (status, kept) in [(303, false), (302, false), (307, true)] {
        let (id, url) = script(
            &srv,
            "a",
            vec![Step::redirect(status, "/s/{id}/1"), Step::ok()],
        );
        send(&c, "POST", &url, &body_bound, "{}").await.unwrap();
        let next = &srv.records(&id)[1];
        for (name, _) in body_bound {
            let lower = name.to_ascii_lowercase();
            assert_eq!(next.header(&lower).is_some(), kept, "{status} {name}");
        }
    }
}

// 11. One revisit is progress; only a repeated one is a loop.

#[tokio::test]
async fn a_single_redirect_back_to_the_same_url_is_followed() {
    let srv = server().await;
    let c = client(&srv);
    for method in ["GET", "POST"] {
        let (id, url) = script(&srv, "a", vec![Step::ok().with_fault("redirect_self")]);
        let resp = c.request(method, &url).body("form").send().await.unwrap();
        assert_eq!(resp.status(), 200, "{method}");
        assert_eq!(resp.method(), "GET");
        assert_eq!(srv.records(&id).len(), 2, "{method}");
    }

    let again = Step::ok()
        .with_fault("redirect_self")
        .with_fault("redirect_self");
    let (id, url) = script(&srv, "a", vec![again]);
    let err = c.get(&url).send().await.unwrap_err();
    assert!(matches!(err, Error::RedirectLoop { .. }), "{err}");
    assert_eq!(srv.records(&id).len(), 2, "the third request is never made");
}

// 12. Two different Location values are refused.

#[tokio::test]
async fn two_different_locations_are_refused_not_followed_to_the_first() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().with_fault("two_locations"), Step::ok().apply()],
    );
    let err = c.post(&url).body("pay").send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidLocation { .. }), "{err}");
    assert_eq!(err.history().len(), 1);
    assert_eq!(srv.records(&id).len(), 1, "neither target was contacted");
}

// 13. Obs-folded Location is unfolded; malformed answers are never retried.

#[tokio::test]
async fn an_obs_folded_location_is_unfolded_and_followed() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::ok().with_fault("folded_location"), Step::ok()],
    );
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let steps: Vec<_> = srv.records(&id).iter().map(|r| r.step).collect();
    assert_eq!(steps, [Some(0), Some(1)]);
}

#[tokio::test]
async fn a_malformed_answer_is_never_retried_as_a_network_failure() {
    let srv = server().await;
    let c = client(&srv);
    for fault in ["bad_status_line", "oversized_headers"] {
        let (id, url) = script(&srv, "a", vec![Step::ok().with_fault(fault)]);
        let err = c.get(&url).send().await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{fault}: {err}");
        assert_eq!(srv.records(&id).len(), 1, "{fault}");
    }
}
