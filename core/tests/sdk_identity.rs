//! SDK identity on every hop and retry, and the typed refusal of a version-pinning server.

mod common;
use common::*;

#[tokio::test]
async fn identity_goes_with_every_hop_and_retry_and_extends_the_user_agent() {
    let srv = server().await;
    let c = builder(&srv)
        .sdk("acme-rust", "2.4.0")
        .user_agent("shop/7")
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(307, "{b}/s/{id}/1"),
            Step::ok().with_fault("status_503"),
        ],
    );
    let order = hopsafe::KeyChoice::Use("order-1".into());
    c.post(&url)
        .idempotency_key(order)
        .body("x")
        .send()
        .await
        .unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 3);
    let sdk = format!(
        "n=\"acme-rust\", v=\"2.4.0\", c=\"{}\", l=rust",
        hopsafe::VERSION
    );
    for r in &recs {
        assert_eq!(r.header("client-sdk"), Some(sdk.as_str()));
        let ua = r.header("user-agent").unwrap();
        assert!(ua.starts_with("shop/7 acme-rust/2.4.0 hopsafe/"), "{ua}");
    }
    assert!(builder(&srv).sdk("bad name", "1").build().is_err());
}

#[tokio::test]
async fn a_426_problem_becomes_upgrade_required_and_is_not_retried() {
    let srv = server().await;
    let c = builder(&srv).sdk("acme-rust", "2.4.0").build().unwrap();
    let problem = format!(
        r#"{{"type":"{}","title":"SDK too old","minimum_version":"2.5.0","current_version":"2.4.0"}}"#,
        hopsafe::sdk_identity::UPGRADE_REQUIRED_TYPE
    );
    let step = Step::status(426)
        .with_header("content-type", "application/problem+json")
        .with_body(problem);
    let (id, url) = script(&srv, "a", vec![step]);
    let err = c.post(&url).body("x").send().await.unwrap_err();
    match err {
        hopsafe::Error::UpgradeRequired {
            minimum_version,
            current_version,
            ..
        } => {
            assert_eq!(minimum_version, "2.5.0");
            assert_eq!(current_version, "2.4.0");
        }
        other => panic!("{other}"),
    }
    assert_eq!(srv.records(&id).len(), 1);
    // Another 426 problem type is just a response, body intact.
    let other = Step::status(426)
        .with_header("content-type", "application/problem+json")
        .with_body(r#"{"type":"about:blank"}"#);
    let (_, url) = script(&srv, "a", vec![other]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 426);
    assert_eq!(resp.text().await.unwrap(), r#"{"type":"about:blank"}"#);
}
