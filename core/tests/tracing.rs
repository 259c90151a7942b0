//! `tracing` spans and events: the request span, one event per hop (what was stripped and
//! why) and per retry (the reason), never a credential, a path or a query.

use std::io::Write;
use std::sync::{Arc, Mutex};

mod common;
use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn hops_and_retries_are_traced_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global: the request runs on the runtime's worker threads. The only test in this binary.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    hopsafe::runtime::block_on(async {
        let srv = server().await;
        let (_, url) = script(
            &srv,
            "a",
            vec![
                Step::redirect(307, "{b}/s/{id}/1?token=query-secret"),
                Step::ok().with_fault("status_503"),
            ],
        );
        let resp = client(&srv)
            .put(&format!("{url}?sig=path-secret"))
            .header("authorization", "Bearer header-secret")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for want in [
        "hopsafe.request",
        "redirect followed",
        "status=307",
        "(\"authorization\", \"cross-origin\")",
        "retrying",
        "Status(503)",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    for secret in ["header-secret", "query-secret", "path-secret"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}
