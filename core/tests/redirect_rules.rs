//! The method/body rules of RFC 9110 §15.4 and RFC 7538, against the real test server.

mod common;
use common::*;

const BODY: &str = r#"{"order":"A-1","qty":2}"#;

#[tokio::test]
async fn status_307_and_308_keep_method_body_and_headers() {
    let srv = server().await;
    let c = client(&srv);
    for status in [307, 308] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let (id, url) = script(
                &srv,
                "a",
                vec![Step::redirect(status, "{a}/s/{id}/1"), Step::ok()],
            );
            let headers = [("content-type", "application/json"), ("x-trace", "t1")];
            let resp = send(&c, method, &url, &headers, BODY).await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.method().as_str(), method);
            assert_eq!(resp.history().len(), 1);
            let recs = srv.records(&id);
            assert_eq!(recs.len(), 2, "{status} {method}");
            for r in &recs {
                assert_eq!(r.method, method);
                assert_eq!(r.body_sha256, sha(BODY.as_bytes()), "{status} {method}");
                assert_eq!(r.header("content-type"), Some("application/json"));
                assert_eq!(r.header("x-trace"), Some("t1"));
            }
            assert_eq!(recs[0].idempotency_key, recs[1].idempotency_key);
        }
    }
}

#[tokio::test]
async fn status_301_302_turn_only_post_into_get() {
    let srv = server().await;
    let c = client(&srv);
    for status in [301, 302] {
        let cases = [
            ("POST", "GET"),
            ("PUT", "PUT"),
            ("PATCH", "PATCH"),
            ("DELETE", "DELETE"),
        ];
        for (from, to) in cases {
            let (id, url) = script(
                &srv,
                "a",
                vec![Step::redirect(status, "/s/{id}/1"), Step::ok()],
            );
            let headers = [("content-type", "application/json")];
            let resp = send(&c, from, &url, &headers, BODY).await.unwrap();
            assert_eq!(resp.method().as_str(), to, "{status} {from}");
            let last = &srv.records(&id)[1];
            assert_eq!(last.method, to);
            if from == to {
                assert_eq!(last.body_sha256, sha(BODY.as_bytes()));
                assert_eq!(last.header("content-type"), Some("application/json"));
            } else {
                assert_eq!(last.body_len, 0);
                assert_eq!(last.header("content-type"), None);
                assert_eq!(last.idempotency_key, None, "the key goes with the body");
                assert!(resp.idempotency_key().is_none());
            }
        }
    }
}

#[tokio::test]
async fn status_303_turns_everything_but_head_into_get_and_drops_body_headers() {
    let srv = server().await;
    let c = client(&srv);
    for (from, to) in [
        ("POST", "GET"),
        ("PUT", "GET"),
        ("DELETE", "GET"),
        ("GET", "GET"),
        ("HEAD", "HEAD"),
    ] {
        let (id, url) = script(
            &srv,
            "a",
            vec![Step::redirect(303, "/s/{id}/1"), Step::ok()],
        );
        let headers = [
            ("content-type", "application/json"),
            ("content-language", "en"),
            ("content-encoding", "identity"),
            ("content-location", "/x"),
            ("authorization", "Bearer same-origin"),
        ];
        let body = if from == "HEAD" || from == "GET" {
            ""
        } else {
            BODY
        };
        let resp = send(&c, from, &url, &headers, body).await.unwrap();
        assert_eq!(resp.method().as_str(), to);
        let last = &srv.records(&id)[1];
        assert_eq!(last.method, to);
        if from != to {
            assert_eq!(last.body_len, 0);
            for h in [
                "content-type",
                "content-language",
                "content-encoding",
                "content-location",
            ] {
                assert_eq!(last.header(h), None, "{from}: {h}");
            }
            let dropped: Vec<_> = resp.history()[0]
                .dropped
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            assert!(dropped.contains(&"content-type"), "{dropped:?}");
            assert!(resp.history()[0]
                .dropped
                .iter()
                .all(|d| d.reason == hopsafe::DropReason::MethodChanged));
        }
        assert_eq!(last.header("authorization"), Some("Bearer same-origin"));
    }
}

#[tokio::test]
async fn other_3xx_and_missing_location_are_returned() {
    let srv = server().await;
    let c = client(&srv);
    for status in [300, 304, 305, 306, 399] {
        let (id, url) = script(
            &srv,
            "a",
            vec![Step::redirect(status, "/s/{id}/1"), Step::ok()],
        );
        let resp = send(&c, "POST", &url, &[], BODY).await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(srv.records(&id).len(), 1);
    }
    for status in [301, 302, 303, 307, 308] {
        let (id, url) = script(&srv, "a", vec![Step::status(status), Step::ok()]);
        let resp = send(&c, "POST", &url, &[], BODY).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "no Location: returned");
        assert_eq!(srv.records(&id).len(), 1);
    }
}

#[tokio::test]
async fn following_can_be_switched_off_per_client_and_per_request() {
    let srv = server().await;
    let steps = || vec![Step::redirect(307, "/s/{id}/1"), Step::ok()];
    let off = builder(&srv).follow_redirects(false).build().unwrap();
    let (id, url) = script(&srv, "a", steps());
    assert_eq!(
        send(&off, "POST", &url, &[], BODY).await.unwrap().status(),
        307
    );
    assert_eq!(srv.records(&id).len(), 1);

    let zero = builder(&srv).max_redirects(0).build().unwrap();
    let (id, url) = script(&srv, "a", steps());
    assert_eq!(
        send(&zero, "POST", &url, &[], BODY).await.unwrap().status(),
        307
    );
    assert_eq!(srv.records(&id).len(), 1);

    let c = client(&srv);
    let (id, url) = script(&srv, "a", steps());
    let resp = c.post(&url).follow_redirects(false).send().await.unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(srv.records(&id).len(), 1);
}

#[tokio::test]
async fn history_records_each_hop() {
    let srv = server().await;
    let c = client(&srv);
    let (_, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::redirect(308, "{b}/s/{id}/2"),
            Step::ok(),
        ],
    );
    let resp = send(&c, "POST", &url, &[("authorization", "Bearer s")], BODY)
        .await
        .unwrap();
    let h = resp.history();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].status, 307);
    assert_eq!(h[1].status, 308);
    assert_eq!(h[0].url.as_str(), url);
    assert_eq!(h[0].body_len, Some(BODY.len() as u64));
    assert!(h[0].location.as_deref().unwrap().ends_with("/1"));
    assert!(h[0].sent_headers.iter().any(|n| n == "authorization"));
    assert!(!h[1].sent_headers.iter().any(|n| n == "authorization"));
    assert_eq!(h[0].dropped.len(), 1);
    assert_eq!(h[0].dropped[0].name, "authorization");
    assert_eq!(h[0].dropped[0].reason, hopsafe::DropReason::CrossOrigin);
    assert_eq!(h[0].idempotency_key.as_deref(), resp.idempotency_key());
    assert!(resp.url().as_str().starts_with(&srv.origin("b")));
}

/// A 3xx body is read raw (to reuse the connection) and never decoded: one that claims gzip
/// but is not would fail any decoder, yet the chain completes; a large one is dropped unread
/// and the write is still replayed whole.
#[cfg(feature = "decompress")]
#[tokio::test]
async fn redirect_bodies_are_drained_raw_never_decoded() {
    let srv = server().await;
    let c = client(&srv);
    let fake_gzip = Step::redirect(302, "{a}/s/{id}/1")
        .with_header("content-encoding", "gzip")
        .with_body("this is not gzip");
    let (id, url) = script(&srv, "a", vec![fake_gzip.clone(), Step::ok()]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.history()[0].status, 302);
    assert_eq!(srv.records(&id).len(), 2);
    // Control: the same response handed to the caller is decoded, and fails.
    let stop = builder(&srv).follow_redirects(false).build().unwrap();
    let (_, url) = script(&srv, "a", vec![fake_gzip]);
    let resp = stop.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.bytes().await.is_err(), "the decoder is on");
    let big = srv.url("a", "/redirect/307?to=%2Fecho&body=5000000");
    let resp = c.post(&big).body("xyz").send().await.unwrap();
    assert_eq!(resp.status(), 200, "a large 3xx body is dropped, not read");
    let echo: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body_len"], 3);
}
