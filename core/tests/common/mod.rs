//! Shared set-up for the core's integration tests: the multi-origin test server and a client
//! that trusts its CA.
#![allow(dead_code, unused_imports)]

use std::time::Duration;

pub use hopsafe_testserver::{Record, Step, TestServer};
use sha2::{Digest, Sha256};

pub async fn server() -> TestServer {
    TestServer::start().await.expect("test server starts")
}

/// A client builder that trusts the server's CA and retries fast.
pub fn builder(srv: &TestServer) -> hopsafe::ClientBuilder {
    hopsafe::Client::builder()
        .add_root_certificates_pem(srv.ca_pem().as_bytes())
        .retry(fast_retry())
}

pub fn client(srv: &TestServer) -> hopsafe::Client {
    builder(srv).build().expect("client builds")
}

pub fn fast_retry() -> hopsafe::RetryPolicy {
    hopsafe::RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        jitter_seed: Some(1),
        ..Default::default()
    }
}

/// Registers `steps` and returns (script id, URL of step 0 on `origin`).
pub fn script(srv: &TestServer, origin: &str, steps: Vec<Step>) -> (String, String) {
    let id = srv.script(steps);
    let url = srv.url(origin, &format!("/s/{id}/0"));
    (id, url)
}

pub fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sends a request built from `method`, `url`, headers and body.
pub async fn send(
    client: &hopsafe::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> hopsafe::Result<hopsafe::Response> {
    let mut rb = client.request(method, url).body(body);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    rb.send().await
}
