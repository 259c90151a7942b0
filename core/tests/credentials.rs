//! Credentials stay home: stripped on every kind of origin crossing, for the rest of the
//! chain, unless the user trusted the target.

mod common;
use common::*;

const CREDS: [(&str, &str); 4] = [
    ("authorization", "Bearer s3cret"),
    ("cookie", "session=1"),
    ("proxy-authorization", "Basic cHJveHk6cHc="),
    ("x-api-key", "k-123"),
];

fn assert_creds(r: &Record, present: bool, what: &str) {
    for (name, value) in CREDS {
        let expect = present.then_some(value);
        assert_eq!(
            r.header(name),
            expect,
            "{what}: {name} on step {:?}",
            r.step
        );
    }
    assert_eq!(r.header("accept"), Some("application/json"), "{what}");
}

async fn chain(srv: &TestServer, c: &hopsafe::Client, start: &str, hops: &[&str]) -> Vec<Record> {
    let mut steps: Vec<Step> = hops
        .iter()
        .enumerate()
        .map(|(i, o)| Step::redirect(307, format!("{{{o}}}/s/{{id}}/{}", i + 1)))
        .collect();
    steps.push(Step::ok());
    let (id, url) = script(srv, start, steps);
    let mut rb = c.post(&url).header("accept", "application/json").body("x");
    for (k, v) in CREDS {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    srv.records(&id)
}

fn with_api_key(srv: &TestServer) -> hopsafe::Client {
    builder(srv).sensitive_header("X-API-KEY").build().unwrap()
}

#[tokio::test]
async fn every_kind_of_crossing_strips() {
    let srv = server().await;
    let c = with_api_key(&srv);
    for (to, kind) in [
        ("b", "other host"),
        ("a2", "other port"),
        ("a_name", "other name"),
        ("tls", "other scheme"),
    ] {
        let recs = chain(&srv, &c, "a", &[to]).await;
        assert_eq!(recs.len(), 2);
        assert_creds(&recs[0], true, kind);
        assert_creds(&recs[1], false, kind);
    }
}

#[tokio::test]
async fn same_origin_keeps_credentials() {
    let srv = server().await;
    let c = with_api_key(&srv);
    let recs = chain(&srv, &c, "a", &["a", "a"]).await;
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_creds(r, true, "same origin");
    }
}

#[tokio::test]
async fn stripping_is_sticky_a_b_a_and_a_b_b() {
    let srv = server().await;
    let c = with_api_key(&srv);
    let recs = chain(&srv, &c, "a", &["b", "a"]).await;
    assert_creds(&recs[0], true, "A");
    assert_creds(&recs[1], false, "A->B");
    assert_creds(&recs[2], false, "A->B->A never restores");
    let recs = chain(&srv, &c, "a", &["b", "b"]).await;
    assert_creds(&recs[2], false, "A->B->B never restores");
}

#[tokio::test]
async fn unnamed_custom_headers_cross_but_named_ones_do_not() {
    let srv = server().await;
    let c = client(&srv);
    let recs = chain(&srv, &c, "a", &["b"]).await;
    assert_eq!(
        recs[1].header("x-api-key"),
        Some("k-123"),
        "not declared sensitive"
    );
    assert_eq!(recs[1].header("authorization"), None);
}

#[tokio::test]
async fn trusted_origins_keep_credentials_for_a_failover() {
    let srv = server().await;
    let c = builder(&srv)
        .sensitive_header("x-api-key")
        .trust_origin(&srv.origin("tls_b"))
        .build()
        .unwrap();
    let recs = chain(&srv, &c, "tls", &["tls_b"]).await;
    assert_creds(&recs[1], true, "trusted failover");
    // Trusting tls_b does not trust plain b.
    let recs = chain(&srv, &c, "tls", &["tls_b", "tls_name"]).await;
    assert_creds(&recs[1], true, "trusted");
    assert_creds(&recs[2], false, "untrusted after trusted");
}

#[tokio::test]
async fn basic_auth_from_api_and_url_is_origin_scoped() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok()],
    );
    c.get(&url).basic_auth("u", "p").send().await.unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[0].header("authorization"), Some("Basic dTpw"));
    assert_eq!(recs[1].header("authorization"), None);

    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(302, "{a2}/s/{id}/1"), Step::ok()],
    );
    let with_userinfo = url.replacen("http://", "http://us%40r:p%3Aw@", 1);
    c.get(&with_userinfo).send().await.unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[0].header("authorization"), Some("Basic dXNAcjpwOnc="));
    assert_eq!(recs[1].header("authorization"), None);
}

#[tokio::test]
async fn https_to_http_is_refused_unless_allowed_and_never_carries_credentials() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "tls",
        vec![Step::redirect(307, "{a}/s/{id}/1"), Step::ok()],
    );
    let err = c
        .post(&url)
        .bearer_auth("t")
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::InsecureRedirect { .. }),
        "{err}"
    );
    assert_eq!(err.history().len(), 1);
    assert_eq!(srv.records(&id).len(), 1);

    let allow = builder(&srv).allow_https_downgrade(true).build().unwrap();
    let (id, url) = script(
        &srv,
        "tls",
        vec![Step::redirect(307, "{a}/s/{id}/1"), Step::ok()],
    );
    let resp = allow
        .post(&url)
        .bearer_auth("t")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(recs[1].scheme, "http");
    assert_eq!(recs[1].header("authorization"), None);
    assert_eq!(recs[1].body_len, 1);
}
