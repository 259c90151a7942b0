//! Mutual TLS against the test server's `mtls` origin, which requires a client certificate
//! signed by its CA.

mod common;
use common::*;

#[tokio::test]
async fn a_client_certificate_opens_the_mtls_origin() {
    let srv = server().await;
    let (cert, key) = srv.client_identity_pem();
    let c = builder(&srv)
        .client_certificate_pem(cert.as_bytes(), key.as_bytes())
        .build()
        .unwrap();
    let (id, url) = script(&srv, "mtls", vec![Step::ok()]);
    let resp = c.post(&url).body("x").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(srv.records(&id)[0].origin, "mtls");
}

#[tokio::test]
async fn without_one_the_refusal_is_a_typed_tls_error() {
    let srv = server().await;
    let (id, url) = script(&srv, "mtls", vec![Step::ok()]);
    let err = client(&srv).get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "Tls", "{err}");
    assert!(
        err.to_string().contains("127.0.0.1"),
        "names the host: {err}"
    );
    assert!(srv.records(&id).is_empty());
}

#[test]
fn bad_client_identities_are_config_errors_that_never_show_the_key() {
    let key = "-----BEGIN PRIVATE KEY-----\naHVudGVyMg==\n-----END PRIVATE KEY-----\n";
    for (chain, key, says) in [
        ("", key, "no certificate"),
        ("not pem", key, "no certificate"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "no key here",
            "private key",
        ),
    ] {
        let err = hopsafe::Client::builder()
            .client_certificate_pem(chain.as_bytes(), key.as_bytes())
            .build()
            .unwrap_err();
        assert_eq!(err.name(), "InvalidConfig", "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains("aHVudGVy"), "{text}");
    }
}
