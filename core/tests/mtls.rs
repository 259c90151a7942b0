//! Mutual TLS against the test server's `mtls` origin, which requires a client certificate
//! signed by its CA, over HTTP/2 and HTTP/1.1.

mod common;
use common::*;

#[tokio::test]
async fn a_client_certificate_opens_the_mtls_origin_over_both_protocols() {
    let srv = server().await;
    let (cert, key) = srv.client_identity_pem();
    for (h2, want) in [(true, "HTTP/2"), (false, "HTTP/1.1")] {
        let c = builder(&srv)
            .http2(h2)
            .client_certificate_pem(cert.as_bytes(), key.as_bytes())
            .build()
            .unwrap();
        let (id, url) = script(&srv, "mtls", vec![Step::ok()]);
        let resp = c.post(&url).body("x").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let rec = &srv.records(&id)[0];
        assert_eq!(rec.origin, "mtls");
        assert_eq!(rec.version, want, "h2 offered: {h2}");
    }
}

// On a multi-thread runtime (as every binding uses) the request often loses the race with
// the connection task that reads the alert, and fails as "connection was not ready": still a
// `Tls` error (core/src/alert.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_one_the_refusal_is_a_typed_tls_error_over_both_protocols() {
    let srv = server().await;
    for h2 in [true, false] {
        let c = builder(&srv).http2(h2).build().unwrap();
        // Several rounds: the alert must win over the request every time, not by luck.
        for method in ["GET", "POST"].repeat(4) {
            let (id, url) = script(&srv, "mtls", vec![Step::ok()]);
            let err = send(&c, method, &url, &[], "x").await.unwrap_err();
            assert_eq!(err.name(), "Tls", "h2 offered: {h2}, {method}: {err}");
            assert!(
                err.to_string().contains("127.0.0.1"),
                "names the host: {err}"
            );
            assert!(srv.records(&id).is_empty());
        }
    }
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
