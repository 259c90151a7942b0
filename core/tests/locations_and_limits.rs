//! `Location` forms, hostile values, chain limits, loops, hooks and stream-body replay.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;

mod common;
use common::*;

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn location_forms_resolve_per_rfc3986() {
    let srv = server().await;
    let c = client(&srv);
    let b_hostport = srv.origin("b").trim_start_matches("http://").to_owned();
    let protocol_relative = format!("//{b_hostport}/s/{{id}}/1");
    let forms = [
        ("/s/{id}/1", "a"),
        ("1", "a"),
        ("../{id}/1", "a"),
        ("./1?x=a b", "a"),
        (protocol_relative.as_str(), "b"),
        ("{b}/s/{id}/1#frag", "b"),
    ];
    for (loc, origin) in forms {
        let (id, url) = script(&srv, "a", vec![Step::redirect(307, loc), Step::ok()]);
        let resp = c.post(&url).body("x").send().await.unwrap();
        assert_eq!(resp.status(), 200, "{loc}");
        let recs = srv.records(&id);
        assert_eq!(recs.len(), 2, "{loc}");
        assert_eq!(recs[1].origin, origin, "{loc}");
        assert_eq!(recs[1].path, format!("/s/{id}/1"), "{loc}");
        assert_eq!(recs[1].body_len, 1, "{loc}");
    }
}

#[tokio::test]
async fn spaces_and_non_ascii_are_percent_encoded_and_fragments_inherited() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(308, "/s/{id}/1?q=a b&é=1"), Step::ok()],
    );
    let resp = c.get(&format!("{url}#section")).send().await.unwrap();
    assert_eq!(resp.url().fragment(), Some("section"));
    let recs = srv.records(&id);
    assert_eq!(recs[1].query.as_deref(), Some("q=a%20b&%C3%A9=1"));
    // Raw Latin-1 byte in Location (not UTF-8) is percent-encoded as is.
    let target = srv.url("a", "/echo/caf\u{0}");
    let raw = format!("/redirect/307?to={}", pct(&target).replace("%00", "%E9"));
    let resp = c.get(&srv.url("a", &raw)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.url().path().ends_with("/echo/caf%E9"),
        "{}",
        resp.url()
    );
}

#[tokio::test]
async fn hostile_locations_give_typed_errors() {
    let srv = server().await;
    let c = client(&srv);
    let cases: [(&str, &str); 5] = [
        ("", "InvalidLocation"),
        ("   ", "InvalidLocation"),
        ("javascript:alert(1)", "UnsupportedScheme"),
        ("file:///etc/passwd", "UnsupportedScheme"),
        ("http://[::1", "InvalidLocation"),
    ];
    for (loc, want) in cases {
        let url = srv.url("a", &format!("/redirect/302?to={}", pct(loc)));
        let err = c.get(&url).send().await.unwrap_err();
        assert_eq!(err.name(), want, "{:.40}: {err}", loc);
        assert_eq!(err.history().len(), 1);
    }
    let long = format!("/{}", "a".repeat(64 * 1024));
    let (id, url) = script(&srv, "a", vec![Step::redirect(302, long), Step::ok()]);
    let err = c.get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "InvalidLocation", "{err:.200}");
    assert!(err.to_string().len() < 2048, "error messages stay readable");
    assert_eq!(srv.records(&id).len(), 1);
    // Invalid percent-escapes are passed through like browsers do.
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "/s/{id}/1?x=%zz"), Step::ok()],
    );
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(srv.records(&id)[1].query.as_deref(), Some("x=%zz"));
}

#[tokio::test]
async fn ipv6_literal_locations_are_followed() {
    let srv = server().await;
    if !srv.has_origin("v6") {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{v6}/s/{id}/1"), Step::ok()],
    );
    c.post(&url)
        .bearer_auth("x")
        .body("b")
        .send()
        .await
        .unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[1].origin, "v6");
    assert_eq!(recs[1].header("authorization"), None);
}

#[tokio::test]
async fn loops_and_limits() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::redirect(307, "{a}/s/{id}/0"),
        ],
    );
    let err = c.post(&url).body("x").send().await.unwrap_err();
    assert!(matches!(err, hopsafe::Error::RedirectLoop { .. }), "{err}");
    // A, B, A, B: each requested twice, then the third request for A is the loop.
    assert_eq!(err.history().len(), 4);
    assert_eq!(srv.records(&id).len(), 4);

    let limited = builder(&srv).max_redirects(2).build().unwrap();
    let steps: Vec<Step> = (1..=3)
        .map(|i| Step::redirect(307, format!("/s/{{id}}/{i}")))
        .chain([Step::ok()])
        .collect();
    let (id, url) = script(&srv, "a", steps.clone());
    let err = limited.post(&url).body("x").send().await.unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::TooManyRedirects { max: 2, .. }),
        "{err}"
    );
    assert_eq!(err.history().len(), 3);
    assert_eq!(srv.records(&id).len(), 3);
    let (_, url) = script(&srv, "a", steps);
    let resp = limited
        .post(&url)
        .max_redirects(3)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.history().len(), 3);
}

#[tokio::test]
async fn default_limit_is_twenty() {
    let srv = server().await;
    let c = client(&srv);
    let steps: Vec<Step> = (1..=21)
        .map(|i| Step::redirect(302, format!("/s/{{id}}/{i}")))
        .chain([Step::ok()])
        .collect();
    let (_, url) = script(&srv, "a", steps);
    let err = c.get(&url).send().await.unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::TooManyRedirects { max: 20, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn the_policy_hook_can_stop_or_fail() {
    let srv = server().await;
    let stop = builder(&srv)
        .redirect_hook(|a| {
            if a.to.port() == a.from.port() {
                hopsafe::RedirectAction::Follow
            } else {
                hopsafe::RedirectAction::Stop
            }
        })
        .build()
        .unwrap();
    let (_, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "/s/{id}/1"),
            Step::redirect(307, "{a2}/s/{id}/2"),
            Step::ok(),
        ],
    );
    let resp = stop.post(&url).body("x").send().await.unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.history().len(), 1);

    let fail = builder(&srv)
        .redirect_hook(|_| hopsafe::RedirectAction::Fail("no failover today".into()))
        .build()
        .unwrap();
    let (_, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()],
    );
    let err = fail.post(&url).body("x").send().await.unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::RedirectRejected { .. }),
        "{err}"
    );
}

fn chunks(total: usize) -> hopsafe::Body {
    let parts: Vec<Result<Bytes, std::io::Error>> = (0..total / 1000)
        .map(|i| Ok(Bytes::from(vec![b'a' + (i % 26) as u8; 1000])))
        .collect();
    hopsafe::Body::from_stream(stream::iter(parts))
}

fn chunks_bytes(total: usize) -> Vec<u8> {
    (0..total / 1000)
        .flat_map(|i| vec![b'a' + (i % 26) as u8; 1000])
        .collect()
}

#[tokio::test]
async fn stream_bodies_are_replayed_within_the_limit() {
    let srv = server().await;
    let c = builder(&srv)
        .replay_buffer_limit(64 * 1000)
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()],
    );
    let resp = c.post(&url).body(chunks(50_000)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    let want = sha(&chunks_bytes(50_000));
    assert_eq!(recs[0].body_sha256, want);
    assert_eq!(recs[1].body_sha256, want);
}

#[tokio::test]
async fn stream_bodies_past_the_limit_fail_typed_never_truncated() {
    let srv = server().await;
    let c = builder(&srv).replay_buffer_limit(10_000).build().unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(308, "{b}/s/{id}/1"), Step::ok()],
    );
    let err = c.put(&url).body(chunks(50_000)).send().await.unwrap_err();
    match &err {
        hopsafe::Error::BodyNotReplayable {
            status,
            location,
            limit,
            history,
        } => {
            assert_eq!(*status, 308);
            assert_eq!(*limit, 10_000);
            assert!(location.contains("/s/"));
            assert_eq!(history.len(), 1);
        }
        other => panic!("expected BodyNotReplayable, got {other}"),
    }
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 1, "nothing sent to the second origin");
    assert_eq!(recs[0].body_len, 50_000);
    // A 303 does not need the body: a large stream is fine.
    let (_, url) = script(
        &srv,
        "a",
        vec![Step::redirect(303, "/s/{id}/1"), Step::ok()],
    );
    assert_eq!(
        c.post(&url)
            .body(chunks(50_000))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn timeouts_are_typed() {
    let srv = server().await;
    let c = builder(&srv)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (_, url) = script(&srv, "a", vec![Step::ok().with_fault("delay_ms:3000")]);
    let err = c.get(&url).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            hopsafe::Error::Timeout {
                phase: hopsafe::TimeoutPhase::Total,
                ..
            }
        ),
        "{err}"
    );
    let c = builder(&srv)
        .read_timeout(Some(Duration::from_millis(200)))
        .retry(hopsafe::RetryPolicy::never())
        .build()
        .unwrap();
    let (_, url) = script(&srv, "a", vec![Step::ok().with_fault("delay_ms:3000")]);
    let err = c.get(&url).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            hopsafe::Error::Timeout {
                phase: hopsafe::TimeoutPhase::Read,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn tls_and_connect_errors_are_typed_and_http2_is_negotiated() {
    let srv = server().await;
    let untrusting = hopsafe::Client::builder()
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = untrusting
        .get(&srv.url("tls", "/echo"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, hopsafe::Error::Tls { .. }), "{err}");

    let c = client(&srv);
    let resp = c.get(&srv.url("tls", "/echo")).send().await.unwrap();
    assert_eq!(resp.version(), http_version_2());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = c
        .post(&format!("http://127.0.0.1:{port}/"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, hopsafe::Error::Connect { .. }), "{err}");
}

fn http_version_2() -> http::Version {
    http::Version::HTTP_2
}

#[tokio::test]
async fn a_stream_that_fails_mid_upload_is_body_stream_and_never_applied() {
    let srv = server().await;
    let c = builder(&srv).build().unwrap();
    let (id, url) = script(&srv, "a", vec![Step::ok().apply()]);
    let parts: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(vec![b'a'; 16 * 1024])),
        Ok(Bytes::from(vec![b'b'; 16 * 1024])),
        Err(std::io::Error::other("disk went away")),
    ];
    let err = c
        .post(&url)
        .body(hopsafe::Body::from_stream(stream::iter(parts)))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, hopsafe::Error::BodyStream { reason, .. } if reason.contains("disk went away")),
        "{err}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(srv
        .records(&id)
        .iter()
        .all(|r| !r.body_complete && !r.applied));
}
