//! A real hyper server behind the tower `PinningLayer`, called by the real hopsafe client.
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hopsafe::pinning::{PinningLayer, Policy};
use hopsafe::Error;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tower_layer::Layer;
use tower_service::Service;

/// The protected handler: counts the requests that reached it.
#[derive(Clone)]
struct Handler(Arc<AtomicUsize>);

impl<B> Service<http::Request<B>> for Handler {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        ready(Ok(http::Response::new(Full::from("applied"))))
    }
}

async fn serve(policy: Policy) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let svc = PinningLayer::new(policy).layer(Handler(hits.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = svc.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let mut svc = svc.clone();
                    async move { svc.call(req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

fn policy() -> Policy {
    Policy::from_json_str(
        r#"{"unknown": "deny_writes", "rules": [{"sdk": "acme-rust", "minimum": "2.5.0", "methods": "writes", "path_prefix": "/v1/"}]}"#,
    )
    .unwrap()
}

fn client(version: &str) -> hopsafe::Client {
    hopsafe::Client::builder()
        .sdk("acme-rust", version)
        .build()
        .unwrap()
}

#[tokio::test]
async fn old_sdks_cannot_write_new_ones_can() {
    let (base, hits) = serve(policy()).await;
    let url = format!("{base}/v1/orders");
    let err = client("2.4.0")
        .post(&url)
        .body("x")
        .send()
        .await
        .unwrap_err();
    match err {
        Error::UpgradeRequired {
            minimum_version,
            current_version,
            ..
        } => {
            assert_eq!(
                (minimum_version.as_str(), current_version.as_str()),
                ("2.5.0", "2.4.0")
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler never ran");
    assert_eq!(
        client("2.4.0").get(&url).send().await.unwrap().status(),
        200
    );
    assert!(client("2.5.0-rc.1").put(&url).send().await.is_err());
    for ok in ["2.5.0", "2.10.0"] {
        assert_eq!(
            client(ok)
                .post(&url)
                .body("x")
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{ok}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn missing_and_malformed_identities_get_clear_problems() {
    let (base, _) = serve(policy()).await;
    let plain = hopsafe::Client::builder().build().unwrap();
    let url = format!("{base}/v1/orders");
    let resp = plain
        .post(&url)
        .header("client-sdk", "garbage(")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let problem: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], hopsafe::pinning::IDENTITY_MALFORMED_TYPE);
    assert!(problem["detail"].as_str().unwrap().contains("malformed"));
    // A default hopsafe client identifies as "hopsafe": not pinned, so allowed.
    assert_eq!(
        plain.post(&url).body("x").send().await.unwrap().status(),
        200
    );
}
