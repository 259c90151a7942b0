//! The system trust store as OpenSSL-based tools read it: `SSL_CERT_FILE` names the roots
//! (its own test binary: the roots are read once per process, before any client exists).

mod common;
use common::*;

#[tokio::test]
async fn ssl_cert_file_roots_are_trusted_unless_turned_off() {
    let srv = server().await;
    let path = std::env::temp_dir().join(format!("hopsafe-roots-{}.pem", std::process::id()));
    std::fs::write(&path, srv.ca_pem()).unwrap();
    std::env::set_var("SSL_CERT_FILE", &path);
    let (_, url) = script(&srv, "tls", vec![Step::ok()]);

    // No extra roots given: the CA comes from SSL_CERT_FILE.
    let c = hopsafe::Client::builder().build().unwrap();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);

    let off = hopsafe::Client::builder()
        .system_roots(false)
        .build()
        .unwrap();
    let err = off.get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "Tls", "{err}");
    let _ = std::fs::remove_file(&path);
}
